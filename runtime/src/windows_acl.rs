//! Windows security descriptors, where Unix modes do the job elsewhere: directories made
//! private to the installing user (and SYSTEM), and a rewritten file keeping the access control
//! list of the file it replaces.
//!
//! A private directory gets a protected DACL (nothing inherited from `%TEMP%` or `%ProgramData%`,
//! where Administrators or Users may be listed) granting full control to the current user and
//! SYSTEM, inherited by what is created in it: the unpacked payload, a script's variables file,
//! the state directory's journal and backups. A replaced file's DACL is copied explicit ACEs and
//! all, protected or not as it was; inherited entries come from its folder again, as they did.

use std::ffi::OsStr;
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{null, null_mut};
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW,
    GetNamedSecurityInfoW, SDDL_REVISION_1, SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, ACL_SIZE_INFORMATION, AclSizeInformation,
    DACL_SECURITY_INFORMATION, GetAce, GetAclInformation, GetSecurityDescriptorControl,
    GetSecurityDescriptorDacl, GetTokenInformation, INHERIT_ONLY_ACE,
    PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, SE_DACL_PROTECTED,
    TOKEN_QUERY, TOKEN_USER, TokenUser, UNPROTECTED_DACL_SECURITY_INFORMATION,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Give `path` a DACL of its own: full control for the current user and SYSTEM only,
/// inherited by everything created beneath it.
pub fn make_private(path: &Path) -> io::Result<()> {
    let user = current_user_sid()?;
    let sddl = wide(OsStr::new(&format!(
        "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;{user})"
    )));
    let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
    // SAFETY: `sddl` is NUL-terminated; the descriptor is freed below.
    let made = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            sddl.as_ptr(),
            SDDL_REVISION_1,
            &mut descriptor,
            null_mut(),
        )
    };
    if made == 0 {
        return Err(io::Error::last_os_error());
    }
    let result = dacl_of(descriptor).and_then(|dacl| {
        set_dacl(
            path,
            dacl,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
        )
    });
    // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
    unsafe { LocalFree(descriptor) };
    result
}

/// Give `to` the DACL of `from` (protected when it was).
pub fn copy_dacl(from: &Path, to: &Path) -> io::Result<()> {
    let from = Descriptor::of(from)?;
    let (mut control, mut revision) = (0u16, 0u32);
    // SAFETY: the descriptor is valid while `from` lives.
    unsafe { GetSecurityDescriptorControl(from.raw, &mut control, &mut revision) };
    let protection = match control & SE_DACL_PROTECTED {
        0 => UNPROTECTED_DACL_SECURITY_INFORMATION,
        _ => PROTECTED_DACL_SECURITY_INFORMATION,
    };
    set_dacl(to, from.dacl, DACL_SECURITY_INFORMATION | protection)
}

/// A file's security descriptor with its DACL (null: none, everyone may do anything), freed
/// when dropped.
struct Descriptor {
    raw: PSECURITY_DESCRIPTOR,
    dacl: *mut ACL,
}

impl Descriptor {
    fn of(path: &Path) -> io::Result<Descriptor> {
        let path = wide(path.as_os_str());
        let mut found = Descriptor {
            raw: null_mut(),
            dacl: null_mut(),
        };
        // SAFETY: `path` is NUL-terminated; the descriptor is freed by `Drop`, and `dacl`
        // points into it.
        let status = unsafe {
            GetNamedSecurityInfoW(
                path.as_ptr(),
                SE_FILE_OBJECT,
                DACL_SECURITY_INFORMATION,
                null_mut(),
                null_mut(),
                &mut found.dacl,
                null_mut(),
                &mut found.raw,
            )
        };
        match status {
            0 => Ok(found),
            error => Err(io::Error::from_raw_os_error(error as i32)),
        }
    }
}

impl Drop for Descriptor {
    fn drop(&mut self) {
        // SAFETY: allocated by GetNamedSecurityInfoW (LocalFree accepts null).
        unsafe { LocalFree(self.raw) };
    }
}

/// Who besides the installing user, SYSTEM, Administrators and TrustedInstaller may write into
/// `dir`, delete or rename what is in it, or change its permissions or owner, by its DACL: the
/// accounts (by name for the well-known ones, else by SID). A missing DACL lets everyone.
pub fn other_writers(dir: &Path) -> io::Result<Vec<String>> {
    let descriptor = Descriptor::of(dir)?;
    match descriptor.dacl.is_null() {
        true => Ok(vec![
            "everyone (the directory has no access control list)".to_string(),
        ]),
        false => current_user_sid().and_then(|me| writers_in(descriptor.dacl, &me)),
    }
}

/// Rights that let someone change a directory's content or permissions: write data (add a
/// file), append data (add a subdirectory), write extended attributes, delete a child, write
/// attributes, delete, write the DACL, take ownership, generic write and generic all.
const WRITE_RIGHTS: u32 =
    0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x4000_0000 | 0x1000_0000;

/// SIDs that may write anyway: SYSTEM, Administrators, TrustedInstaller.
const TRUSTED_SIDS: [&str; 3] = [
    "S-1-5-18",
    "S-1-5-32-544",
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464",
];

fn writers_in(dacl: *const ACL, me: &str) -> io::Result<Vec<String>> {
    const ACCESS_ALLOWED: u8 = 0;
    let mut info = ACL_SIZE_INFORMATION {
        AceCount: 0,
        AclBytesInUse: 0,
        AclBytesFree: 0,
    };
    let size = std::mem::size_of::<ACL_SIZE_INFORMATION>() as u32;
    // SAFETY: `dacl` is a valid ACL and `info` has the size given.
    let ok = unsafe {
        GetAclInformation(
            dacl,
            (&mut info as *mut ACL_SIZE_INFORMATION).cast(),
            size,
            AclSizeInformation,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut writers = Vec::new();
    for index in 0..info.AceCount {
        let mut ace = null_mut();
        // SAFETY: `index` is below the ACL's entry count; `ace` points into the ACL.
        if unsafe { GetAce(dacl, index, &mut ace) } == 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: every entry starts with an ACE_HEADER.
        let header = unsafe { &*(ace as *const ACE_HEADER) };
        if header.AceType != ACCESS_ALLOWED || u32::from(header.AceFlags) & INHERIT_ONLY_ACE != 0 {
            continue;
        }
        // SAFETY: an access-allowed entry is an ACCESS_ALLOWED_ACE, its SID at `SidStart`.
        let allowed = unsafe { &*(ace as *const ACCESS_ALLOWED_ACE) };
        if allowed.Mask & WRITE_RIGHTS == 0 {
            continue;
        }
        let sid = sid_text((&allowed.SidStart as *const u32).cast_mut().cast())?;
        if sid != me && !TRUSTED_SIDS.contains(&sid.as_str()) {
            writers.push(account_name(&sid));
        }
    }
    Ok(writers)
}

/// The name of a well-known group, else the SID itself.
fn account_name(sid: &str) -> String {
    match sid {
        "S-1-1-0" => "everyone (S-1-1-0)".to_string(),
        "S-1-5-11" => "Authenticated Users (S-1-5-11)".to_string(),
        "S-1-5-32-545" => "Users (S-1-5-32-545)".to_string(),
        "S-1-3-0" => "the creator owner (S-1-3-0)".to_string(),
        other => format!("the account {other}"),
    }
}

fn dacl_of(descriptor: PSECURITY_DESCRIPTOR) -> io::Result<*mut ACL> {
    let (mut present, mut defaulted) = (0, 0);
    let mut dacl: *mut ACL = null_mut();
    // SAFETY: `descriptor` is a valid security descriptor.
    let ok =
        unsafe { GetSecurityDescriptorDacl(descriptor, &mut present, &mut dacl, &mut defaulted) };
    match ok != 0 && present != 0 {
        true => Ok(dacl),
        false => Err(io::Error::other("the security descriptor has no DACL")),
    }
}

fn set_dacl(path: &Path, dacl: *const ACL, info: u32) -> io::Result<()> {
    let path = wide(path.as_os_str());
    // SAFETY: `path` is NUL-terminated and `dacl` a valid ACL owned by the caller.
    let status = unsafe {
        SetNamedSecurityInfoW(
            path.as_ptr(),
            SE_FILE_OBJECT,
            info,
            null_mut(),
            null_mut(),
            dacl,
            null(),
        )
    };
    match status {
        0 => Ok(()),
        error => Err(io::Error::from_raw_os_error(error as i32)),
    }
}

/// The current user's SID as text (`S-1-5-21-…`).
fn current_user_sid() -> io::Result<String> {
    let mut token: HANDLE = null_mut();
    // SAFETY: the pseudo-handle of this process needs no closing; `token` is closed below.
    if unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) } == 0 {
        return Err(io::Error::last_os_error());
    }
    let sid = user_sid_of(token);
    // SAFETY: opened above.
    unsafe { CloseHandle(token) };
    sid
}

fn user_sid_of(token: HANDLE) -> io::Result<String> {
    let mut len = 0u32;
    // SAFETY: a first call with no buffer only reports the size needed.
    unsafe { GetTokenInformation(token, TokenUser, null_mut(), 0, &mut len) };
    // u64 elements: aligned for the TOKEN_USER the buffer holds.
    let mut buffer = vec![0u64; (len as usize).div_ceil(8).max(1)];
    // SAFETY: `buffer` holds at least `len` bytes.
    let ok =
        unsafe { GetTokenInformation(token, TokenUser, buffer.as_mut_ptr().cast(), len, &mut len) };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: GetTokenInformation filled the buffer with a TOKEN_USER (aligned by its type).
    let user = unsafe { &*(buffer.as_ptr() as *const TOKEN_USER) };
    sid_text(user.User.Sid)
}

/// A SID as text (`S-1-5-21-…`).
fn sid_text(sid: PSID) -> io::Result<String> {
    let mut text = null_mut();
    // SAFETY: `sid` is a valid SID owned by the caller; `text` is freed below.
    if unsafe { ConvertSidToStringSidW(sid, &mut text) } == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `text` is a NUL-terminated wide string from ConvertSidToStringSidW.
    let sid = unsafe {
        let len = (0..).take_while(|&i| *text.add(i) != 0).count();
        String::from_utf16_lossy(std::slice::from_raw_parts(text, len))
    };
    // SAFETY: allocated by ConvertSidToStringSidW.
    unsafe { LocalFree(text.cast()) };
    Ok(sid)
}

fn wide(text: &OsStr) -> Vec<u16> {
    text.encode_wide().chain(std::iter::once(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DACL of `path` as SDDL text.
    fn sddl(path: &Path) -> String {
        use windows_sys::Win32::Security::Authorization::ConvertSecurityDescriptorToStringSecurityDescriptorW;
        let descriptor = Descriptor::of(path).unwrap();
        let mut text = null_mut();
        // SAFETY: test-only read of a descriptor `Descriptor` frees; `text` freed here.
        unsafe {
            let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
                descriptor.raw,
                SDDL_REVISION_1,
                DACL_SECURITY_INFORMATION,
                &mut text,
                null_mut(),
            );
            assert_ne!(ok, 0);
            let len = (0..).take_while(|&i| *text.add(i) != 0).count();
            let out = String::from_utf16_lossy(std::slice::from_raw_parts(text, len));
            LocalFree(text.cast());
            out
        }
    }

    fn set_sddl(path: &Path, sddl: &str) {
        let sddl = wide(OsStr::new(sddl));
        let mut descriptor: PSECURITY_DESCRIPTOR = null_mut();
        // SAFETY: test-only; the descriptor is freed below.
        unsafe {
            let made = ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                null_mut(),
            );
            assert_ne!(made, 0);
            let dacl = dacl_of(descriptor).unwrap();
            set_dacl(
                path,
                dacl,
                DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            )
            .unwrap();
            LocalFree(descriptor);
        }
    }

    #[test]
    fn a_private_directory_lists_only_this_user_and_system_and_a_copy_keeps_a_dacl() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private");
        std::fs::create_dir(&private).unwrap();
        make_private(&private).unwrap();
        let text = sddl(&private);
        let user = current_user_sid().unwrap();
        assert!(text.contains("(A;OICI;FA;;;SY)"), "{text}");
        assert!(text.contains(&format!("(A;OICI;FA;;;{user})")), "{text}");
        // Wine 8 (the runner exports WINEDEBUG) keeps its own inherited read entry for
        // everyone and ignores the protection; Windows honours both.
        if std::env::var_os("WINEDEBUG").is_none() {
            assert!(text.starts_with("D:P"), "protected: {text}");
            assert_eq!(text.matches("(A;").count(), 2, "only the two: {text}");
        }

        assert_eq!(
            other_writers(&private).unwrap(),
            Vec::<String>::new(),
            "{text}"
        );
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        set_sddl(&open, "D:P(A;OICI;FA;;;WD)(A;OICI;FA;;;SY)");
        assert_eq!(other_writers(&open).unwrap(), ["everyone (S-1-1-0)"]);
        set_sddl(&open, "D:P(A;OICI;0x1200a9;;;BU)(A;OICI;FA;;;BA)");
        assert!(other_writers(&open).unwrap().is_empty(), "reading is fine");

        let to = dir.path().join("to.txt");
        std::fs::write(&to, "b").unwrap();
        copy_dacl(&private, &to).unwrap();
        let copied = sddl(&to);
        assert!(
            // A file takes no inheritance flags: the entries come without them.
            copied.contains(&format!("(A;;FA;;;{user})")),
            "{copied}"
        );
    }
}
