/* A test-only stand-in for Windows 10's bcryptprimitives.dll, which Wine 8 (Debian 12) lacks:
 * Rust's standard library draws its random numbers from its ProcessPrng. Here they come from
 * advapi32's RtlGenRandom (exported as SystemFunction036), which Wine has. Built and used by
 * scripts/check-windows only; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
