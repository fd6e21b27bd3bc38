//! Link options of the mobile library (docs/adr/0014).
#![allow(
    clippy::print_stdout,
    reason = "a build script talks to cargo on stdout"
)]

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    // Identical code folding: lld merges functions whose machine code is the same (generic code
    // instantiated for types of one layout, mostly): about 55 KB less in the release library.
    // Rust does not promise distinct functions distinct addresses (rustc's own function merging
    // relies on that too), so folding changes nothing a program may observe. lld only: the NDK's
    // linker and rustc's default linker for x86_64 Linux; GNU ld has no --icf, and iOS links
    // the static library with Apple's linker, which deduplicates code by default.
    let lld =
        var("CARGO_CFG_TARGET_OS") == "android" || var("TARGET") == "x86_64-unknown-linux-gnu";
    if var("PROFILE") == "release" && lld {
        println!("cargo:rustc-link-arg-cdylib=-Wl,--icf=all");
    }
    // Relative relocations packed as DT_RELR (a bitmap instead of 24 bytes each): about 340 KB
    // less on x86_64, where nearly all of the library's 14 000 dynamic relocations are relative.
    // The NDK's clang driver already packs them for Android API 28 and later, so this makes the
    // x86_64 measurement closer to the phone's; glibc loads DT_RELR since 2.36.
    if var("PROFILE") == "release" && var("TARGET") == "x86_64-unknown-linux-gnu" {
        println!("cargo:rustc-link-arg-cdylib=-Wl,-z,pack-relative-relocs");
    }
}
