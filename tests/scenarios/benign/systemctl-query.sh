#!/usr/bin/env bash
# Benign: read-only systemctl queries (version, status, list-units, is-enabled, list-unit-files). On a machine whose
# init is not systemd, status cannot reach the manager; that is tolerated, the queries still run.
. "$(dirname "$0")/../lib.sh"
scn_begin systemctl-query none
scn_require systemctl
systemctl --version >/dev/null
systemctl status --no-pager >/dev/null 2>&1 || true
systemctl list-units --no-pager >/dev/null 2>&1 || true
systemctl is-enabled cron.service >/dev/null 2>&1 || true
scn_run_key systemctl list-unit-files --no-pager 'cron*' 'ssh*' >/dev/null
