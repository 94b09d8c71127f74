# tests/wire_clients: the fixture checked with the providers' official npm
# clients (scripts/setup.d/wire-clients-npm.sh installs them).
TEST_SCRIPTS += tests/wire_clients/wire_clients.sh
