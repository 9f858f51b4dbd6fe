//! A minimal reader of the running kernel's BTF (`/sys/kernel/btf/vmlinux`): just enough to find
//! the byte offset of a struct member by name, so the eBPF programs can follow kernel pointers
//! (task → files → fd table → file → inode, ...) on any kernel without hard-coded layouts.
//!
//! aya-obj parses BTF too, but keeps type and member accessors crate-private; the format is small
//! and stable (`Documentation/bpf/btf.rst`), so it is read here directly and validated as it goes.

use std::collections::HashMap;

use thiserror::Error;

/// Where the kernel exposes its own BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

const MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

/// Why BTF could not be read or a member not found.
#[derive(Debug, Error)]
pub enum BtfError {
    /// The file could not be read.
    #[error("cannot read kernel BTF at {VMLINUX_BTF}: {0}")]
    Read(#[from] std::io::Error),
    /// The data is not BTF or is cut short.
    #[error("malformed BTF: {0}")]
    Malformed(&'static str),
    /// The kernel has no struct of that name.
    #[error("kernel BTF has no struct `{0}`")]
    NoStruct(String),
    /// The struct has no member of that name.
    #[error("kernel struct `{strukt}` has no member `{member}`")]
    NoMember {
        /// The struct searched.
        strukt: String,
        /// The member path that failed.
        member: String,
    },
    /// The member is a bitfield, which the eBPF side cannot read by byte offset.
    #[error("kernel struct member `{0}` is a bitfield")]
    Bitfield(String),
}

#[derive(Debug, Clone, Copy)]
struct Member {
    name_off: u32,
    type_id: u32,
    bit_offset: u32,
    bitfield_size: u32,
}

#[derive(Debug, Clone)]
struct Type {
    kind: u32,
    name_off: u32,
    /// Referenced type for PTR/TYPEDEF/CONST/VOLATILE/RESTRICT/TYPE_TAG.
    target: u32,
    members: Vec<Member>,
}

/// Parsed kernel BTF: types and strings.
#[derive(Debug)]
pub struct Btf {
    /// Index 0 is the implicit `void`.
    types: Vec<Type>,
    strings: Vec<u8>,
    structs: HashMap<String, u32>,
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, BtfError> {
    data.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or(BtfError::Malformed("truncated"))
}

impl Btf {
    /// Reads the running kernel's BTF.
    pub fn from_sys_fs() -> Result<Btf, BtfError> {
        Btf::parse(&std::fs::read(VMLINUX_BTF)?)
    }

    /// Parses raw little-endian BTF.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        let magic = data
            .get(0..2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or(BtfError::Malformed("no header"))?;
        if magic != MAGIC {
            return Err(BtfError::Malformed(
                "bad magic (big-endian BTF is not supported)",
            ));
        }
        let hdr_len = u32_at(data, 4)? as usize;
        let type_off = u32_at(data, 8)? as usize;
        let type_len = u32_at(data, 12)? as usize;
        let str_off = u32_at(data, 16)? as usize;
        let str_len = u32_at(data, 20)? as usize;
        let section = |off: usize, len: usize| {
            let start = hdr_len.checked_add(off)?;
            data.get(start..start.checked_add(len)?)
        };
        let type_data = section(type_off, type_len).ok_or(BtfError::Malformed("type section"))?;
        let strings = section(str_off, str_len)
            .ok_or(BtfError::Malformed("string section"))?
            .to_vec();

        let mut types = vec![Type {
            kind: 0,
            name_off: 0,
            target: 0,
            members: Vec::new(),
        }];
        let mut at = 0usize;
        while at < type_data.len() {
            let name_off = u32_at(type_data, at)?;
            let info = u32_at(type_data, at + 4)?;
            let size_or_type = u32_at(type_data, at + 8)?;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            at += 12;
            let mut members = Vec::new();
            let extra = match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => 4,
                KIND_ARRAY => 12,
                KIND_STRUCT | KIND_UNION => {
                    members.reserve(vlen);
                    for i in 0..vlen {
                        let m = at + i * 12;
                        let offset = u32_at(type_data, m + 8)?;
                        let (bit_offset, bitfield_size) = if kind_flag {
                            (offset & 0x00ff_ffff, offset >> 24)
                        } else {
                            (offset, 0)
                        };
                        members.push(Member {
                            name_off: u32_at(type_data, m)?,
                            type_id: u32_at(type_data, m + 4)?,
                            bit_offset,
                            bitfield_size,
                        });
                    }
                    12 * vlen
                }
                KIND_ENUM | KIND_FUNC_PROTO => 8 * vlen,
                KIND_DATASEC | KIND_ENUM64 => 12 * vlen,
                KIND_PTR | KIND_FWD | KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT
                | KIND_FUNC | KIND_FLOAT | KIND_TYPE_TAG => 0,
                _ => return Err(BtfError::Malformed("unknown type kind")),
            };
            at += extra;
            types.push(Type {
                kind,
                name_off,
                target: size_or_type,
                members,
            });
        }
        let mut btf = Btf {
            types,
            strings,
            structs: HashMap::new(),
        };
        let mut structs = HashMap::new();
        for (id, t) in btf.types.iter().enumerate() {
            if t.kind == KIND_STRUCT && !t.members.is_empty() {
                let name = btf.name(t.name_off);
                if !name.is_empty() {
                    structs
                        .entry(name.to_owned())
                        .or_insert(u32::try_from(id).unwrap_or(0));
                }
            }
        }
        btf.structs = structs;
        Ok(btf)
    }

    fn name(&self, off: u32) -> &str {
        let rest = self.strings.get(off as usize..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(rest.get(..end).unwrap_or_default()).unwrap_or("")
    }

    /// Follows typedefs and qualifiers to the underlying type.
    fn resolve(&self, mut id: u32) -> Option<&Type> {
        for _ in 0..32 {
            let t = self.types.get(id as usize)?;
            match t.kind {
                KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => {
                    id = t.target;
                }
                _ => return Some(t),
            }
        }
        None
    }

    /// Bit offset of `name` within `t`, looking into anonymous struct/union members.
    fn find_member(&self, t: &Type, name: &str, depth: u32) -> Option<(u32, Member)> {
        if depth > 8 {
            return None;
        }
        for m in &t.members {
            let member_name = self.name(m.name_off);
            if member_name == name {
                return Some((m.bit_offset, *m));
            }
            if member_name.is_empty()
                && let Some(inner) = self.resolve(m.type_id)
                && matches!(inner.kind, KIND_STRUCT | KIND_UNION)
                && let Some((off, found)) = self.find_member(inner, name, depth + 1)
            {
                return Some((m.bit_offset + off, found));
            }
        }
        None
    }

    /// Byte offset of `path` (members separated by dots, through embedded structs, not
    /// pointers) within `struct strukt`.
    pub fn member_offset(&self, strukt: &str, path: &str) -> Result<u32, BtfError> {
        let id = *self
            .structs
            .get(strukt)
            .ok_or_else(|| BtfError::NoStruct(strukt.to_owned()))?;
        let no_member = || BtfError::NoMember {
            strukt: strukt.to_owned(),
            member: path.to_owned(),
        };
        let mut t = self.types.get(id as usize).ok_or_else(no_member)?;
        let mut bits = 0u32;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let (off, m) = self.find_member(t, part, 0).ok_or_else(no_member)?;
            bits += off;
            if m.bitfield_size != 0 || !bits.is_multiple_of(8) {
                return Err(BtfError::Bitfield(format!("{strukt}.{path}")));
            }
            if parts.peek().is_some() {
                t = self.resolve(m.type_id).ok_or_else(no_member)?;
                if !matches!(t.kind, KIND_STRUCT | KIND_UNION) {
                    return Err(no_member());
                }
            }
        }
        Ok(bits / 8)
    }

    /// Like [`Btf::member_offset`], but `None` when the member does not exist (optional kernel
    /// features such as `task_struct.loginuid` without `CONFIG_AUDIT`).
    pub fn optional_offset(&self, strukt: &str, path: &str) -> Option<u32> {
        self.member_offset(strukt, path).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a BTF blob: `struct inner { int a; int b; }`,
    /// `struct outer { long x; union { int y; struct inner in; }; int bf:3; }`.
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0inner\0a\0b\0outer\0x\0y\0in\0bf\0".to_vec();
        let s = |name: &str| -> u32 {
            let pos = strings
                .windows(name.len() + 2)
                .position(|w| {
                    w[0] == 0 && &w[1..=name.len()] == name.as_bytes() && w[name.len() + 1] == 0
                })
                .expect("string");
            pos as u32 + 1
        };
        let mut t = Vec::new();
        let mut push = |words: &[u32]| {
            for w in words {
                t.extend_from_slice(&w.to_le_bytes());
            }
        };
        // 1: int
        push(&[s("int"), KIND_INT << 24, 4, 32]);
        // 2: struct inner
        push(&[
            s("inner"),
            (KIND_STRUCT << 24) | 2,
            8,
            s("a"),
            1,
            0,
            s("b"),
            1,
            32,
        ]);
        // 3: anonymous union { int y; struct inner in; }
        push(&[0, (KIND_UNION << 24) | 2, 8, s("y"), 1, 0, s("in"), 2, 0]);
        // 4: struct outer (kind_flag: bitfield encoding)
        push(&[
            s("outer"),
            (1 << 31) | (KIND_STRUCT << 24) | 3,
            24,
            s("x"),
            1,
            0,
            0,
            3,
            64,
            s("bf"),
            1,
            (3 << 24) | 128,
        ]);
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for w in [
            24u32,
            0,
            t.len() as u32,
            t.len() as u32,
            strings.len() as u32,
        ] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&t);
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn finds_members_through_anonymous_unions_and_nesting() {
        let btf = Btf::parse(&sample()).expect("valid BTF");
        assert_eq!(btf.member_offset("outer", "x").ok(), Some(0));
        assert_eq!(btf.member_offset("outer", "y").ok(), Some(8));
        assert_eq!(btf.member_offset("outer", "in.b").ok(), Some(12));
        assert!(matches!(
            btf.member_offset("outer", "bf"),
            Err(BtfError::Bitfield(_))
        ));
        assert!(matches!(
            btf.member_offset("outer", "nope"),
            Err(BtfError::NoMember { .. })
        ));
        assert!(matches!(
            btf.member_offset("missing", "x"),
            Err(BtfError::NoStruct(_))
        ));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let good = sample();
        for len in [0, 1, 10, 23, good.len() - 1] {
            assert!(Btf::parse(&good[..len]).is_err(), "len {len}");
        }
        assert!(Btf::parse(&[0u8; 64]).is_err());
    }

    #[test]
    fn reads_the_running_kernel_when_available() {
        let Ok(btf) = Btf::from_sys_fs() else {
            eprintln!("SKIPPED: no kernel BTF");
            return;
        };
        assert!(btf.member_offset("task_struct", "tgid").is_ok());
        assert!(btf.member_offset("sock_common", "skc_dport").is_ok());
        assert!(btf.member_offset("file", "f_path.dentry").is_ok());
    }
}
