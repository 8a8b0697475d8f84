/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "wgnet-error.h"

const WgnetError wgnet_errors[] = {
        { WGNET_ERROR_PREFIX "NetworkExists", EEXIST },
        { WGNET_ERROR_PREFIX "PeerExists", ENOTUNIQ },
        { WGNET_ERROR_PREFIX "AddressInUse", EADDRINUSE },
        /* Not errnos a system call or SQLite gives (ENOSPC, EBUSY): a full disk or a locked
         * database must not read as a full subnet or a port in use. */
        { WGNET_ERROR_PREFIX "SubnetFull", EXFULL },
        { WGNET_ERROR_PREFIX "InvalidKey", ENOKEY },
        { WGNET_ERROR_PREFIX "NotFound", ENOENT },
        { WGNET_ERROR_PREFIX "SecretNotStored", ENODATA },
        { WGNET_ERROR_PREFIX "ListenPortInUse", ENOTNAM },
        { WGNET_ERROR_PREFIX "InterfaceInUse", ETXTBSY },
        { WGNET_ERROR_PREFIX "NotActive", ENETDOWN },
        { WGNET_ERROR_PREFIX "DeviceFailed", EREMOTEIO },
        { WGNET_ERROR_PREFIX "InvalidConfig", EBADMSG },
        { WGNET_ERROR_PREFIX "RotationPending", EINPROGRESS },
        { WGNET_ERROR_PREFIX "PolkitUnavailable", EHOSTUNREACH },
        { WGNET_ERROR_PREFIX "TunnelExists", EISCONN },
        { WGNET_ERROR_PREFIX "PairingExpired", ETIME },
        { WGNET_ERROR_PREFIX "PairingUsed", EALREADY },
        { WGNET_ERROR_PREFIX "PairingMismatch", EBADE },
        { WGNET_ERROR_PREFIX "InvitationExpired", EKEYEXPIRED },
        { WGNET_ERROR_PREFIX "InvitationUsed", ESTALE },
        { WGNET_ERROR_PREFIX "MeshUnreachable", ENOTCONN },
        { WGNET_ERROR_PREFIX "NotMeshMember", ENOLINK },
        { WGNET_ERROR_PREFIX "RouteInUse", EADDRNOTAVAIL },
        { WGNET_ERROR_PREFIX "FirewallFailed", ENOPKG },
        { NULL, 0 },
};

const char *wgnet_error_name(int errnum) {
        for (const WgnetError *e = wgnet_errors; e->name; e++)
                if (e->errnum == errnum)
                        return e->name;
        return NULL;
}

int wgnet_error_errno(const char *name) {
        if (!name)
                return 0;
        for (const WgnetError *e = wgnet_errors; e->name; e++)
                if (strcmp(e->name, name) == 0)
                        return e->errnum;
        return 0;
}
