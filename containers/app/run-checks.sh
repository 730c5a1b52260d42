#!/usr/bin/env bash
# Pylint, bandit and the unit and integration tests under coverage; reports go to reports/.
# Fails when coverage of my_monit is under 90 %, pylint under 9.5/10, or bandit finds anything.
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-../../.venv}
export PATH="$VENV/bin:$PATH"
mkdir -p reports

echo "== tests under coverage"
coverage erase
coverage run -m pytest -q -p no:cacheprovider tests/unit tests/integration
coverage report --fail-under=90 | tee reports/coverage.txt
coverage html -q -d reports/cov

echo "== pylint"
pylint --rcfile=pyproject.toml --fail-under=9.5 my_monit | tee reports/pylint.txt

echo "== bandit"
# Every accepted finding is marked in the code with '# nosec <rule> - <reason>'.
bandit -q -r my_monit -f txt -o reports/bandit.txt || { cat reports/bandit.txt; exit 1; }
echo "bandit: no findings (report in reports/bandit.txt)"
