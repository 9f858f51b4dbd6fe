//! The sensor's eBPF programs. They capture and filter; every policy decision is made in
//! userspace. Each hook family lives in `programs/`, its maps beside it in `maps.rs`.

#![no_std]
#![no_main]

mod config;
mod emit;
mod kernel;
mod maps;
mod path;
mod programs;
mod tp;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any reachable path here, so this is never executed.
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
