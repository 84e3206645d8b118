#!/bin/bash
# The runs behind docs/figures/weights/ (Fig. 3, 4, 7, 9 of Snapp & Shamir): 2^20 examples,
# 4 pairs, weights saved. About 5 minutes on 2 CPU cores. Usage: make_weights.sh [OUT_DIR]
set -e
W=${1:-results/weights}
mkdir -p "$W"
r() { name=$1; shift; simctl run --examples 2^20 --pairs 4 --save-weights --out "$W/$name.csv" "$@"; }
r fig3-linear-diff-z20 --model linear --init diff --window 2^20
r fig3-identity1-diff-z0 --model single --activation identity --init diff --window 2^0
r fig3-identity2-same-z20 --model double --activation identity --init same --window 2^20
r fig3-relu2-same-z20 --model double --activation relu --init same --window 2^20
r fig4-relu1-same-z0 --model single --activation relu --init same --window 2^0
r fig4-relu1-same-z20 --model single --activation relu --init same --window 2^20
r fig7-tower-relu-same-z10 --model tower --activation relu --init same --window 2^10
r fig9-wide-relu-same-z10 --model wide --activation relu --init same --window 2^10
