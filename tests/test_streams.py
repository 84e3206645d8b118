"""irrepro.streams: one registry of random-stream roles for both domains."""
import numpy as np

from irrepro.streams import Role, rng_for


def test_every_role_has_its_own_number_and_the_numbers_never_change():
    values = [role.value for role in Role]
    assert len(values) == len(set(values))
    # Stored results depend on these numbers: they are part of the format.
    assert (Role.DATA_MODEL, Role.WARM, Role.OOD, Role.ATTACK) == (0, 5, 100, 107)


def test_a_stream_is_its_seed_sequence_and_roles_are_independent():
    direct = np.random.Generator(np.random.PCG64(np.random.SeedSequence([3, 101, 7])))
    assert np.array_equal(rng_for(3, Role.IMAGE_INIT, 7).integers(0, 2**31, 8),
                          direct.integers(0, 2**31, 8))
    assert not np.array_equal(rng_for(3, Role.IMAGE_INIT, 7).random(8),
                              rng_for(3, Role.IMAGE_ORDER, 7).random(8))
