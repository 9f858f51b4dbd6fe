//! Settings written by userspace into this object's globals before load.

use sensor_common::SensorConfig;

/// Filled in by the loader (`EbpfLoader::set_global`); zero means "not configured".
#[unsafe(no_mangle)]
static CONFIG: SensorConfig = SensorConfig::ZERO;

/// Reads the configuration; volatile so the compiler does not fold the zero initialiser.
#[inline(always)]
pub fn get() -> SensorConfig {
    // SAFETY: CONFIG is a plain global that only the loader writes, before any program runs.
    unsafe { core::ptr::read_volatile(&raw const CONFIG) }
}
