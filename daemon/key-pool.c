/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* AddPeer's key pairs, generated ahead while the event loop is idle. */
#include <inttypes.h>
#include <poll.h>
#include <sodium.h>
#include "audit.h"
#include "db.h"
#include "log.h"
#include "manager.h"
#include "network.h"
#include "peer-add.h"
#include "validate.h"
#include "wgnet-error.h"

/* --- key pairs made ahead ----------------------------------------------------------- */

#define KEY_POOL_SIZE 32

typedef struct KeyPair {
        uint8_t private_key[WG_KEY_LEN];
        uint8_t public_key[WG_KEY_LEN];
} KeyPair;

static int keypair_generate(uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN]) {
        int r = wg_key_generate_private(private_key);
        if (r >= 0)
                r = wg_key_public_from_private(public_key, private_key);
        if (r < 0)
                wg_wipe(private_key, WG_KEY_LEN);
        return r;
}

/* Idle priority: runs only when nothing else is pending, one key pair per turn so that a
 * call arriving meanwhile waits for one generation at most. */
static int on_key_pool_refill(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        if (m->n_key_pool < KEY_POOL_SIZE) {
                KeyPair *k = &m->key_pool[m->n_key_pool];
                if (keypair_generate(k->private_key, k->public_key) < 0) {
                        /* Not again until a key pair is taken (which then generates its own). */
                        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
                        return 0;
                }
                m->n_key_pool++;
        }
        if (m->n_key_pool >= KEY_POOL_SIZE)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

int manager_key_pool_setup(Manager *m) {
        int r;

        m->key_pool = calloc(KEY_POOL_SIZE, sizeof(KeyPair));
        if (!m->key_pool)
                return -ENOMEM;
        (void) sodium_mlock(m->key_pool, KEY_POOL_SIZE * sizeof(KeyPair));
        r = sd_event_add_defer(m->event, &m->key_pool_source, on_key_pool_refill, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->key_pool_source, SD_EVENT_PRIORITY_IDLE);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->key_pool_source, SD_EVENT_ON);
        return r;
}

void manager_key_pool_done(Manager *m) {
        m->key_pool_source = sd_event_source_disable_unref(m->key_pool_source);
        if (m->key_pool) {
                sodium_munlock(m->key_pool, KEY_POOL_SIZE * sizeof(KeyPair));   /* wipes it too */
                free(m->key_pool);
        }
        m->key_pool = NULL;
        m->n_key_pool = 0;
}

int manager_take_keypair(Manager *m, uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN]) {
        if (m->n_key_pool == 0)
                return keypair_generate(private_key, public_key);
        KeyPair *k = &m->key_pool[--m->n_key_pool];
        memcpy(private_key, k->private_key, WG_KEY_LEN);
        memcpy(public_key, k->public_key, WG_KEY_LEN);
        wg_wipe(k, sizeof(*k));
        if (m->key_pool_source)
                (void) sd_event_source_set_enabled(m->key_pool_source, SD_EVENT_ON);
        return 0;
}
