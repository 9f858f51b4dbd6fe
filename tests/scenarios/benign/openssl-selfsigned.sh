#!/usr/bin/env bash
# Benign: create a self-signed TLS certificate with openssl in a temp directory.
. "$(dirname "$0")/../lib.sh"
scn_begin openssl-selfsigned none
scn_require openssl
scn_tmpdir SCN_WORK
scn_run_key openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=scn.invalid \
    -keyout "$SCN_WORK/key.pem" -out "$SCN_WORK/cert.pem" 2>/dev/null
