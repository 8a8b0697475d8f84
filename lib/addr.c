/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* placeholder: not implemented yet */
#include "macro.h"
