//! `aya::Pod` impls, so userspace can write these types into eBPF globals and maps.

// SAFETY: plain `#[repr(C)]` data of integers and byte arrays without padding holes, valid for
// any bit pattern.
unsafe impl aya::Pod for crate::SensorConfig {}
// SAFETY: as above.
unsafe impl aya::Pod for crate::OpenPrefix {}
