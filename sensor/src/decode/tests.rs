//! Decoder tests on byte fixtures built from the `sensor-common` layouts.

use core::mem::offset_of;

use std::net::IpAddr;

use sensor_common::{
    AF_INET, AF_INET6, ARGV_CAP, EXEC_ARGV_TRUNCATED, EXEC_CWD_RESOLVED, EXEC_DATA_OFFSET,
    EventHeader, EventKind, ExecRecord, ExitRecord, ForkRecord, NetRecord, OPEN_DIR_RESOLVED,
    OpenArgs, OpenRecord, PATH_CAP,
};

use crate::event::{FdKind, Transport};

use super::*;

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

/// An exec record as the kernel sends it: the fixed part, the name, argv, nothing more.
fn exec_record(argv: &[u8], name: &[u8], flags: u32) -> Vec<u8> {
    let mut buf = vec![0u8; EXEC_DATA_OFFSET];
    put_u32(
        &mut buf,
        offset_of!(EventHeader, kind),
        EventKind::Exec as u32,
    );
    put_u32(&mut buf, offset_of!(EventHeader, pid), 42);
    buf[offset_of!(EventHeader, comm)..][..4].copy_from_slice(b"bash");
    put_u32(&mut buf, offset_of!(ExecRecord, argc), 3);
    put_u32(&mut buf, offset_of!(ExecRecord, flags), flags);
    put_u32(
        &mut buf,
        offset_of!(ExecRecord, name_len),
        name.len() as u32,
    );
    put_u32(
        &mut buf,
        offset_of!(ExecRecord, argv_len),
        argv.len() as u32,
    );
    buf.extend_from_slice(name);
    buf.extend_from_slice(argv);
    set_size(&mut buf);
    buf
}

/// Makes the header's size agree with the buffer (what the kernel does).
fn set_size(buf: &mut [u8]) {
    let len = buf.len() as u32;
    put_u32(buf, offset_of!(EventHeader, size), len);
}

#[test]
fn decodes_exec() {
    let record = exec_record(b"ls\0-l\0a b\0", b"/usr/bin/ls", 0);
    let event = decode(&record).expect("valid record");
    assert_eq!(event.header.pid, 42);
    assert_eq!(event.header.comm, b"bash");
    let EventBody::Exec(exec) = event.body else {
        panic!("not an exec")
    };
    assert_eq!(exec.executable, b"/usr/bin/ls");
    assert_eq!(
        exec.args,
        vec![b"ls".to_vec(), b"-l".to_vec(), b"a b".to_vec()]
    );
    assert_eq!(exec.argc, 3);
    assert!(!exec.args_truncated);
    // Zero group, session and start time mean "unknown" (read from /proc instead).
    assert_eq!(
        (exec.pgid, exec.sid, exec.start_boottime_ns),
        (None, None, None)
    );

    let mut record = exec_record(b"ls\0", b"/usr/bin/ls", 0);
    put_u32(&mut record, offset_of!(ExecRecord, pgid), 40);
    put_u32(&mut record, offset_of!(ExecRecord, sid), 7);
    let start = offset_of!(ExecRecord, start_boottime_ns);
    record[start..start + 8].copy_from_slice(&123_456_789u64.to_ne_bytes());
    let EventBody::Exec(exec) = decode(&record).expect("valid record").body else {
        panic!("not an exec")
    };
    assert_eq!(
        (exec.pgid, exec.sid, exec.start_boottime_ns),
        (Some(40), Some(7), Some(123_456_789))
    );
}

#[test]
fn decodes_the_working_directory_the_kernel_resolved() {
    let with_cwd = |cwd: &[u8]| {
        let mut record = exec_record(b"ls\0", b"/usr/bin/ls", EXEC_CWD_RESOLVED);
        put_u32(
            &mut record,
            offset_of!(ExecRecord, cwd_len),
            cwd.len() as u32,
        );
        record.extend_from_slice(cwd);
        set_size(&mut record);
        record
    };
    let cwd_of = |record: &[u8]| match decode(record).expect("valid record").body {
        EventBody::Exec(exec) => exec.cwd,
        _ => panic!("not an exec"),
    };
    assert_eq!(cwd_of(&with_cwd(b"/tmp/a b")), Some(b"/tmp/a b".to_vec()));
    // The root directory has no bytes.
    assert_eq!(cwd_of(&with_cwd(b"")), Some(b"/".to_vec()));
    // Not resolved: userspace looks it up.
    assert_eq!(cwd_of(&exec_record(b"ls\0", b"/usr/bin/ls", 0)), None);
    // A length past the record, or bytes past the directory, are refused.
    let mut short = with_cwd(b"/tmp");
    short.truncate(short.len() - 1);
    set_size(&mut short);
    assert!(decode(&short).is_err());
    let mut long = with_cwd(b"/tmp");
    long.push(b'x');
    set_size(&mut long);
    assert!(decode(&long).is_err());
}

#[test]
fn keeps_a_truncated_last_argument() {
    let record = exec_record(b"ls\0abc", b"/usr/bin/ls", EXEC_ARGV_TRUNCATED);
    let EventBody::Exec(exec) = decode(&record).expect("valid record").body else {
        panic!("not an exec")
    };
    assert_eq!(exec.args, vec![b"ls".to_vec(), b"abc".to_vec()]);
    assert!(exec.args_truncated);
}

#[test]
fn rejects_bad_records_without_panicking() {
    let good = exec_record(b"ls\0", b"/bin/ls", 0);
    for len in [0, 3, size_of::<EventHeader>(), good.len() - 1] {
        assert!(
            matches!(decode(&good[..len]), Err(DecodeError::TooShort { .. })),
            "len {len}"
        );
    }
    let mut unknown = good.clone();
    put_u32(&mut unknown, 0, 9999);
    assert_eq!(decode(&unknown), Err(DecodeError::UnknownKind(9999)));
    let mut long = good.clone();
    put_u32(&mut long, offset_of!(ExecRecord, argv_len), u32::MAX);
    assert!(matches!(
        decode(&long),
        Err(DecodeError::BadLength { field: "argv", .. })
    ));
}

#[test]
fn decodes_the_shortest_exec_record() {
    // No name, no argv: what a failed exec with unreadable pointers sends.
    let record = exec_record(b"", b"", 0);
    assert_eq!(record.len(), EXEC_DATA_OFFSET);
    let EventBody::Exec(exec) = decode(&record).expect("valid record").body else {
        panic!("not an exec")
    };
    assert!(exec.executable.is_empty());
    assert!(exec.args.is_empty());
}

#[test]
fn decodes_an_exec_record_at_full_capacity() {
    let name = vec![b'n'; PATH_CAP - 1];
    let mut argv = vec![b'a'; ARGV_CAP - 1];
    argv.push(0);
    let record = exec_record(&argv, &name, EXEC_ARGV_TRUNCATED);
    let EventBody::Exec(exec) = decode(&record).expect("valid record").body else {
        panic!("not an exec")
    };
    assert_eq!(exec.executable, name);
    assert_eq!(exec.args, vec![vec![b'a'; ARGV_CAP - 1]]);
}

#[test]
fn rejects_truncated_exec_records() {
    let good = exec_record(b"ls\0-l\0", b"/bin/ls", 0);
    // Cut anywhere (the header's size cut with it, as a short ring sample would be): into the
    // fixed part, the name or argv.
    for len in [
        size_of::<EventHeader>(),
        EXEC_DATA_OFFSET - 1,
        EXEC_DATA_OFFSET + 3,
        good.len() - 1,
    ] {
        let mut cut = good[..len].to_vec();
        set_size(&mut cut);
        assert!(
            matches!(decode(&cut), Err(DecodeError::TooShort { .. })),
            "len {len}: {:?}",
            decode(&cut)
        );
    }
}

#[test]
fn rejects_exec_records_with_bytes_past_their_contents_or_bad_lengths() {
    let mut long = exec_record(b"ls\0", b"/bin/ls", 0);
    long.extend_from_slice(&[0; 8]);
    set_size(&mut long);
    assert_eq!(
        decode(&long),
        Err(DecodeError::Inconsistent(
            "exec record longer than its name, argv and working directory"
        ))
    );
    let mut name = exec_record(b"ls\0", b"/bin/ls", 0);
    put_u32(&mut name, offset_of!(ExecRecord, name_len), PATH_CAP as u32);
    assert!(matches!(
        decode(&name),
        Err(DecodeError::BadLength { field: "name", .. })
    ));
    // Lengths that each fit but together run past the record.
    let mut over = exec_record(b"ls\0", b"/bin/ls", 0);
    put_u32(&mut over, offset_of!(ExecRecord, argv_len), 100);
    assert!(matches!(decode(&over), Err(DecodeError::TooShort { .. })));
}

fn record<T>(kind: EventKind) -> Vec<u8> {
    let mut buf = vec![0u8; size_of::<T>()];
    put_u32(&mut buf, offset_of!(EventHeader, kind), kind as u32);
    let len = buf.len() as u32;
    put_u32(&mut buf, offset_of!(EventHeader, size), len);
    put_u32(&mut buf, offset_of!(EventHeader, pid), 42);
    buf
}

#[test]
fn decodes_a_failed_exec_with_stdio() {
    let mut rec = exec_record(b"x\0", b"/nope", 0);
    put_u32(&mut rec, offset_of!(ExecRecord, result), (-2i32) as u32);
    rec[offset_of!(ExecRecord, stdio)..][..3].copy_from_slice(&[1, 3, 4]);
    let EventBody::Exec(exec) = decode(&rec).expect("valid").body else {
        panic!("not an exec")
    };
    assert_eq!(exec.result, -2);
    assert_eq!(exec.executable, b"/nope");
    assert_eq!(exec.stdio, [FdKind::Socket, FdKind::Pipe, FdKind::Tty]);
    rec[offset_of!(ExecRecord, stdio)] = 99;
    assert_eq!(
        decode(&rec),
        Err(DecodeError::Inconsistent("unknown fd kind"))
    );
}

#[test]
fn decodes_connect_v4_and_v6_and_rejects_other_families() {
    let mut rec = record::<NetRecord>(EventKind::Connect);
    rec[offset_of!(NetRecord, family)..][..2].copy_from_slice(&AF_INET.to_ne_bytes());
    rec[offset_of!(NetRecord, protocol)..][..2].copy_from_slice(&17u16.to_ne_bytes());
    rec[offset_of!(NetRecord, remote_port)..][..2].copy_from_slice(&53u16.to_ne_bytes());
    rec[offset_of!(NetRecord, remote_addr)..][..4].copy_from_slice(&[127, 0, 0, 1]);
    let EventBody::Connect(net) = decode(&rec).expect("valid").body else {
        panic!("not a connect")
    };
    assert_eq!(net.transport, Transport::Udp);
    assert_eq!(net.remote, (IpAddr::from([127, 0, 0, 1]), 53));
    rec[offset_of!(NetRecord, family)..][..2].copy_from_slice(&AF_INET6.to_ne_bytes());
    rec[offset_of!(NetRecord, remote_addr)..][..16]
        .copy_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    let EventBody::Connect(net) = decode(&rec).expect("valid").body else {
        panic!("not a connect")
    };
    assert_eq!(net.remote.0, IpAddr::from(std::net::Ipv6Addr::LOCALHOST));
    rec[offset_of!(NetRecord, family)..][..2].copy_from_slice(&1u16.to_ne_bytes());
    assert!(matches!(decode(&rec), Err(DecodeError::Inconsistent(_))));
}

#[test]
fn decodes_open_and_fork() {
    let mut rec = record::<OpenRecord>(EventKind::Open);
    let args = offset_of!(OpenRecord, args);
    put_u32(&mut rec, args + offset_of!(OpenArgs, path_len), 3);
    put_u32(&mut rec, args + offset_of!(OpenArgs, collapsed), 2);
    put_u32(&mut rec, args + offset_of!(OpenArgs, flags), 0o1101);
    put_u32(&mut rec, args + offset_of!(OpenArgs, dfd), (-100i32) as u32);
    rec[args + offset_of!(OpenArgs, path)..][..3].copy_from_slice(b"rel");
    let EventBody::Open(open) = decode(&rec).expect("valid").body else {
        panic!("not an open")
    };
    assert_eq!(open.path, b"rel");
    assert!(!open.path_resolved);
    assert_eq!(open.count, 3);
    assert_eq!(open.dfd, -100);
    put_u32(&mut rec, args + offset_of!(OpenArgs, path_len), 100_000);
    assert!(matches!(decode(&rec), Err(DecodeError::BadLength { .. })));

    let mut rec = record::<ForkRecord>(EventKind::Fork);
    assert!(matches!(decode(&rec), Err(DecodeError::Inconsistent(_))));
    put_u32(&mut rec, offset_of!(ForkRecord, child_pid), 7);
    let EventBody::Fork(fork) = decode(&rec).expect("valid").body else {
        panic!("not a fork")
    };
    assert_eq!(fork.child_pid, 7);
}

#[test]
fn decodes_an_open_resolved_by_the_kernel() {
    let mut rec = record::<OpenRecord>(EventKind::Open);
    let args = offset_of!(OpenRecord, args);
    let path = b"/home/u/.ssh/id_rsa";
    put_u32(
        &mut rec,
        args + offset_of!(OpenArgs, path_len),
        path.len() as u32,
    );
    put_u32(&mut rec, args + offset_of!(OpenArgs, dir_len), 12);
    put_u32(
        &mut rec,
        args + offset_of!(OpenArgs, flags2),
        OPEN_DIR_RESOLVED,
    );
    put_u32(&mut rec, args + offset_of!(OpenArgs, dfd), 5);
    rec[args + offset_of!(OpenArgs, path)..][..path.len()].copy_from_slice(path);
    let EventBody::Open(open) = decode(&rec).expect("valid").body else {
        panic!("not an open")
    };
    assert_eq!(open.path, path);
    assert_eq!(open.requested_path, b"id_rsa");
    assert!(open.path_resolved);
    assert_eq!(open.dfd, 5);
}

#[test]
fn an_open_record_ends_after_the_used_path_bytes() {
    // The kernel sends header, arguments and only the path's used bytes plus its NUL.
    let mut rec = record::<OpenRecord>(EventKind::Open);
    let args = offset_of!(OpenRecord, args);
    let path_at = args + offset_of!(OpenArgs, path);
    let path = b"/etc/shadow";
    put_u32(
        &mut rec,
        args + offset_of!(OpenArgs, path_len),
        path.len() as u32,
    );
    rec[path_at..][..path.len()].copy_from_slice(path);
    rec.truncate(path_at + path.len() + 1);
    let len = rec.len() as u32;
    put_u32(&mut rec, offset_of!(EventHeader, size), len);
    let EventBody::Open(open) = decode(&rec).expect("valid").body else {
        panic!("not an open")
    };
    assert_eq!(open.path, path);

    // A path_len beyond the record's end, or a record cut inside the fixed part, is rejected.
    put_u32(&mut rec, args + offset_of!(OpenArgs, path_len), 64);
    assert!(decode(&rec).is_err());
    rec.truncate(path_at - 4);
    let len = rec.len() as u32;
    put_u32(&mut rec, offset_of!(EventHeader, size), len);
    assert!(matches!(decode(&rec), Err(DecodeError::TooShort { .. })));
}

#[test]
fn a_record_longer_than_its_header_says_is_inconsistent() {
    let mut rec = record::<ExitRecord>(EventKind::Exit);
    rec.extend_from_slice(&[0; 8]);
    assert!(matches!(decode(&rec), Err(DecodeError::Inconsistent(_))));
}
