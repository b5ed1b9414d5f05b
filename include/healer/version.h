/* healer/version.h - the engine's version. */
#ifndef HEALER_VERSION_H
#define HEALER_VERSION_H

#define HL_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/* Library version, e.g. "0.1.0" (static string). */
const char *hl_version(void);

#ifdef __cplusplus
}
#endif
#endif
