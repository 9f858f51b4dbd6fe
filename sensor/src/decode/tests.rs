//! Decoder tests on byte fixtures built from the `sensor-common` layouts.

use core::mem::offset_of;

use sensor_common::{
    EXEC_ARGS_OFFSET, EXEC_ARGV_TRUNCATED, EXEC_PATH_OFFSET, EventHeader, EventKind, ExecRecord,
    PendingExec,
};

use super::*;

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn exec_record(argv: &[u8], path: &[u8], flags: u32) -> Vec<u8> {
    let mut buf = vec![0u8; size_of::<ExecRecord>()];
    put_u32(
        &mut buf,
        offset_of!(EventHeader, kind),
        EventKind::Exec as u32,
    );
    let len = buf.len() as u32;
    put_u32(&mut buf, offset_of!(EventHeader, size), len);
    put_u32(&mut buf, offset_of!(EventHeader, pid), 42);
    buf[offset_of!(EventHeader, comm)..][..4].copy_from_slice(b"bash");
    let args = EXEC_ARGS_OFFSET;
    put_u32(&mut buf, args + offset_of!(PendingExec, argc), 3);
    put_u32(&mut buf, args + offset_of!(PendingExec, flags), flags);
    put_u32(
        &mut buf,
        args + offset_of!(PendingExec, argv_len),
        argv.len() as u32,
    );
    buf[args + offset_of!(PendingExec, argv)..][..argv.len()].copy_from_slice(argv);
    put_u32(
        &mut buf,
        offset_of!(ExecRecord, path_len),
        path.len() as u32,
    );
    buf[EXEC_PATH_OFFSET..][..path.len()].copy_from_slice(path);
    buf
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
    put_u32(
        &mut long,
        EXEC_ARGS_OFFSET + offset_of!(PendingExec, argv_len),
        u32::MAX,
    );
    assert!(matches!(
        decode(&long),
        Err(DecodeError::BadLength { field: "argv", .. })
    ));
}
