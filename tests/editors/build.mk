# tests/editors: the .dsp editor grammars (editors/) checked with Node.
# The npm packages are installed by scripts/setup.d/editors-npm.sh.
TEST_SCRIPTS += tests/editors/editors.sh
