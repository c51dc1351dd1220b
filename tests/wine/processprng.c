/* Test-only shim for wine 8.0 (Debian 12): Rust >= 1.78 binaries import
 * bcryptprimitives.dll!ProcessPrng, which this wine lacks, so they do not start. Placed beside the
 * .exe, this DLL provides it by forwarding to advapi32!SystemFunction036 (RtlGenRandom), the
 * generator Rust used before. Never shipped: real Windows 10 and later have ProcessPrng. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
