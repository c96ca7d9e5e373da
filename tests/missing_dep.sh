# missing_dep.sh - sourced by test scripts: missing_dep MESSAGE ends a test
# that cannot run here because something it needs is missing (node, npm,
# an npm package, chromium...). On a developer's machine the test is skipped
# (exit 77, the tests' SKIP_RETURN_CODE in ctest); on CI (environment
# variable CI set and not empty), where scripts/install-deps has installed
# everything, it fails (exit 1): a skip there would hide a test that never ran.
missing_dep() {
  if [ -n "${CI:-}" ]; then
    echo "FAIL: $* (CI is set: every test must run; scripts/install-deps installs what it needs)"
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
