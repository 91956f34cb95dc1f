#!/bin/sh
# Regenerate the pictures shown in the README (needs: pip install "gdsolve[plot]").
# Run from the repository root: sh docs/make_pictures.sh
set -e
cd "$(dirname "$0")/.."

# The circle x^2 + y^2 = 4 meets the hyperbola x*y = 1 at four points: the
# landscape of the sum of squared residuals and the path of each start.
gdsolve plot "x^2 + y^2 = 4" "x*y = 1" --box -3:3 --starts 12 --seed 1 \
    -o docs/landscape.png

# Rosenbrock's banana valley: how fast the best start of each method gets down.
gdsolve compare "10 (y - x^2) = 0" "1 - x = 0" --box -2:2 --seed 1 \
    --plot docs/compare.png
