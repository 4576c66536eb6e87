/*
 * A stand-in bcryptprimitives.dll for Wine 8.0 (Debian 12), which lacks it. Go 1.22 and later
 * Windows binaries load bcryptprimitives.dll!ProcessPrng at start-up and abort without it
 * ("fatal error: bcryptprimitives.dll not found"). This fills the buffer from advapi32's
 * RtlGenRandom (SystemFunction036), in chunks that fit its ULONG length.
 *
 * Built by go_windows_amd64_exec:
 *   x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32 -Wl,--kill-at
 */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!RtlGenRandom(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
