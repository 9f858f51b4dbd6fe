//! Fork and exit records.

use core::mem::offset_of;

use sensor_common::{ExitRecord, ForkRecord};

use super::{DecodeError, reader::Reader};
use crate::event::{ExitEvent, ForkEvent};

pub(super) fn decode_fork(r: &Reader<'_>) -> Result<ForkEvent, DecodeError> {
    r.require(size_of::<ForkRecord>())?;
    let event = ForkEvent {
        parent_pid: r.u32(offset_of!(ForkRecord, parent_pid))?,
        child_pid: r.u32(offset_of!(ForkRecord, child_pid))?,
        child_tid: r.u32(offset_of!(ForkRecord, child_tid))?,
    };
    if event.child_pid == 0 {
        return Err(DecodeError::Inconsistent("fork without a child pid"));
    }
    Ok(event)
}

pub(super) fn decode_exit(r: &Reader<'_>) -> Result<ExitEvent, DecodeError> {
    r.require(size_of::<ExitRecord>())?;
    Ok(ExitEvent {
        exit_code: r.i32(offset_of!(ExitRecord, exit_code))?,
    })
}
