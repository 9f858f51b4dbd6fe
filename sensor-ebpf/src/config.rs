//! Settings written by userspace into this object's globals before load.

use sensor_common::SensorConfig;

/// Filled in by the loader (`EbpfLoader::set_global`); zero means "not configured".
#[unsafe(no_mangle)]
static CONFIG: SensorConfig = SensorConfig::ZERO;

/// The configuration. The pointer is laundered through a volatile read so the compiler cannot
/// fold the zero initialiser, while each field is still loaded only where it is used (a
/// volatile read of the whole struct would copy all of it on every call).
#[inline(always)]
pub fn get() -> &'static SensorConfig {
    let at: *const SensorConfig = &raw const CONFIG;
    // SAFETY: reading a local; CONFIG is a plain global that only the loader writes, before
    // any program runs, so a shared reference to it is valid for the program's life.
    unsafe { &*core::ptr::read_volatile(&at) }
}
