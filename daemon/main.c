/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "backend.h"
#include "config.h"
#include "history.h"
#include "keys.h"
#include "log.h"
#include "manager.h"
#include "wgnet-error.h"

static void help(void) {
        printf("wgnetd [OPTIONS...]\n\n"
               "The wgnet daemon: WireGuard networks and peers on the system bus.\n\n"
               "  -h --help                  Show this help\n"
               "     --version               Show the version\n"
               "     --config=PATH           Config file (default " WGNETD_CONFIG_FILE ")\n"
               "     --state-dir=PATH        Database and key directory (default " WGNETD_STATE_DIR ")\n"
               "     --backend=TYPE          auto, kernel or userspace (default auto)\n"
               "     --tick=SECONDS          Reconcile and status period (default 5)\n"
               "     --userspace-binary=PATH Userspace WireGuard implementation (default wireguard-go)\n"
               "     --firewall=yes|no       Manage nftables table inet wgnet and IP forwarding (default yes)\n"
               "     --debug                 Log debug messages\n"
               "     --remove-devices        Take down every interface of the database and exit\n"
               "                             (the package's prerm at a remove; wgnetd must be stopped)\n");
}

/* --remove-devices, for the package's prerm at a remove (not an upgrade): every interface
 * the database names (networks, tunnels) goes down, as Deactivate would take it down. With
 * KillMode=process they would otherwise run on unmanaged, without expiry or revocation,
 * once wgnetd is gone. Refused while a wgnetd holds the state directory. */
static int remove_devices(const ManagerConfig *cfg) {
        _cleanup_(freep) char *db_path = NULL;
        WgBackendOptions bopts = { .userspace_binary = cfg->userspace_binary, .userspace_log_fd = -1 };
        WgBackend *b = NULL;
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        int r = 0, lock_fd;

        if (asprintf(&db_path, "%s/wgnet.db", cfg->state_dir) < 0)
                return -ENOMEM;
        if (access(db_path, F_OK) < 0) {
                log_info("No database at %s: no devices to remove", db_path);
                return 0;
        }
        r = manager_lock_state_dir(cfg->state_dir, &lock_fd);
        if (r < 0)
                return r;
        if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
            (sqlite3_prepare_v2(db, "SELECT interface FROM networks UNION SELECT interface FROM tunnels", -1, &s, NULL) !=
                     SQLITE_OK &&
             sqlite3_prepare_v2(db, "SELECT interface FROM networks", -1, &s, NULL) != SQLITE_OK)) {
                log_error("Cannot read %s: %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
                r = -EIO;
                goto finish;
        }
        r = wg_backend_new(cfg->backend, &bopts, &b);
        if (r < 0) {
                log_error("Cannot set up the WireGuard backend: %s", strerror(-r));
                goto finish;
        }
        while (sqlite3_step(s) == SQLITE_ROW) {
                const char *ifname = (const char *) sqlite3_column_text(s, 0);
                if (!ifname || !wg_backend_exists(b, ifname))
                        continue;
                int k = wg_backend_delete(b, ifname);
                if (k < 0) {
                        log_error("Cannot remove %s: %s", ifname, strerror(-k));
                        r = k;
                } else
                        log_info("Removed %s", ifname);
        }
finish:
        wg_backend_free(b);
        sqlite3_finalize(s);
        sqlite3_close(db);
        close(lock_fd);
        return r;
}

static sd_bus_error_map error_map[64];

static int register_errors(void) {
        size_t k = 0;
        for (const WgnetError *e = wgnet_errors; e->name && k < ELEMENTSOF(error_map) - 1; e++)
                error_map[k++] = (sd_bus_error_map) { .name = e->name, .code = e->errnum };
        error_map[k] = (sd_bus_error_map) SD_BUS_ERROR_MAP_END;
        return sd_bus_error_add_map(error_map);
}

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG, ARG_STATE_DIR, ARG_BACKEND, ARG_TICK, ARG_USERSPACE, ARG_DEBUG, ARG_FIREWALL,
               ARG_REMOVE_DEVICES };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "state-dir", required_argument, NULL, ARG_STATE_DIR },
                { "backend", required_argument, NULL, ARG_BACKEND },
                { "tick", required_argument, NULL, ARG_TICK },
                { "userspace-binary", required_argument, NULL, ARG_USERSPACE },
                { "debug", no_argument, NULL, ARG_DEBUG },
                { "firewall", required_argument, NULL, ARG_FIREWALL },
                { "remove-devices", no_argument, NULL, ARG_REMOVE_DEVICES },
                { 0 }
        };
        ManagerConfig cfg = { .tick_usec = WGNETD_TICK_USEC, .backend = WG_BACKEND_AUTO, .firewall = 1,
                              .history_fine_days = HISTORY_FINE_KEEP_DAYS,
                              .history_coarse_days = HISTORY_COARSE_KEEP_DAYS };
        ManagerConfig cli = { .backend = -1, .firewall = -1 };
        const char *config_path = WGNETD_CONFIG_FILE;
        bool config_required = false, remove = false;
        _cleanup_(manager_freep) Manager *m = NULL;
        int c, r;

        setvbuf(stderr, NULL, _IOLBF, 0);
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("wgnetd %s\n", WGNET_VERSION);
                        return 0;
                case ARG_CONFIG:
                        config_path = optarg;
                        config_required = true;
                        break;
                case ARG_STATE_DIR:
                        if (optarg[0] != '/') {
                                log_error("--state-dir must be an absolute path, not '%s'", optarg);
                                return 2;
                        }
                        cli.state_dir = optarg;
                        break;
                case ARG_BACKEND:
                        r = wg_backend_type_from_string(optarg);
                        if (r < 0) {
                                log_error("Invalid --backend '%s': expected auto, kernel or userspace", optarg);
                                return 2;
                        }
                        cli.backend = r;
                        break;
                case ARG_TICK:
                        if (config_parse_tick(optarg, &cli.tick_usec) < 0) {
                                log_error("Invalid --tick '%s': expected 0.1-3600 seconds", optarg);
                                return 2;
                        }
                        break;
                case ARG_USERSPACE:
                        cli.userspace_binary = optarg;
                        break;
                case ARG_FIREWALL:
                        if (streq(optarg, "yes"))
                                cli.firewall = 1;
                        else if (streq(optarg, "no"))
                                cli.firewall = 0;
                        else {
                                log_error("Invalid --firewall '%s': expected yes or no", optarg);
                                return 2;
                        }
                        break;
                case ARG_DEBUG:
                        log_set_max_level(7);
                        break;
                case ARG_REMOVE_DEVICES:
                        remove = true;
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                log_error("Unexpected argument '%s'", argv[optind]);
                return 2;
        }

        /* Keys live in this process: no core dumps, no ptrace by other users. */
        (void) prctl(PR_SET_DUMPABLE, 0);
        (void) setrlimit(RLIMIT_CORE, &(struct rlimit) { 0, 0 });
        umask(0077);

        cfg.state_dir = strdup(WGNETD_STATE_DIR);
        if (!cfg.state_dir)
                return 1;
        r = config_parse_file(config_path, config_required, &cfg);
        if (r < 0)
                return 1;
        if (cli.state_dir) {
                free(cfg.state_dir);
                cfg.state_dir = strdup(cli.state_dir);
        }
        if (cli.firewall >= 0)
                cfg.firewall = cli.firewall;
        if (cli.tick_usec)
                cfg.tick_usec = cli.tick_usec;
        if ((int) cli.backend >= 0)
                cfg.backend = cli.backend;
        if (cli.userspace_binary) {
                free(cfg.userspace_binary);
                cfg.userspace_binary = strdup(cli.userspace_binary);
        }

        if (remove) {
                r = remove_devices(&cfg);
                free(cfg.state_dir);
                free(cfg.userspace_binary);
                return r < 0 ? 1 : 0;
        }

        r = wg_crypto_init();
        if (r >= 0)
                r = register_errors();
        if (r >= 0)
                r = manager_new(&cfg, &m);
        free(cfg.state_dir);
        free(cfg.userspace_binary);
        if (r < 0) {
                log_error("Cannot initialise: %s", strerror(-r));
                return 1;
        }

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);
        /* Nothing to reload; a hangup (a terminal closed on a wgnetd started by hand) is no
         * reason to stop, and systemd would not restart it. */
        signal(SIGHUP, SIG_IGN);
        (void) sd_event_add_signal(m->event, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(m->event, NULL, SIGINT, NULL, NULL);

        r = manager_start(m);
        if (r < 0)
                return 1;
        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        if (r < 0) {
                log_error("Event loop failed: %s", strerror(-r));
                return 1;
        }
        if (r > 0) {
                /* sd-bus ended the loop: the bus connection is gone (dbus-daemon restarted).
                 * Unreachable, wgnetd is of no use: a failure, so that systemd starts it again. */
                log_error("Lost the connection to the system bus; exiting");
                return 1;
        }
        manager_stop(m);
        log_info("wgnetd stopped");
        return 0;
}
