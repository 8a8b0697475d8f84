/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gtk/gtk.h>

#include "items.h"

#define WGNET_BUS "org.wgnet1"
#define WGNET_MANAGER_PATH "/org/wgnet1"
#define WGNET_MANAGER_IFACE "org.wgnet1.Manager"
#define WGNET_NETWORK_IFACE "org.wgnet1.Network"
#define WGNET_PEER_IFACE "org.wgnet1.Peer"

/* Privileged calls may wait for a person typing a password into the polkit agent. */
#define APPLET_INTERACTIVE_TIMEOUT_MS (10 * 60 * 1000)

typedef struct {
        /* --test-* options: drive the UI from the command line (tests, screenshots) */
        char *network;                  /* select this network at start */
        char *add_peer;                 /* add a peer of this name through the dialog */
        char *filter;                   /* type this into the search entry, time it */
        char *detail;                   /* the peer whose detail page is shown after the add */
        gboolean rotate;                /* then rotate its key pair through the detail page */
        gboolean rotating;
        char *manage;                   /* then disable, enable and remove this peer with the buttons */
        char *new_network;              /* then create "NAME,ADDRESS", deactivate and activate it */
        gboolean sort_rx;               /* start sorted by Received, print the order at 16 refreshes */
        char *screenshot_dir;
        gboolean quit;                  /* quit when the script is done */
        int step;
        int64_t t_start, t_loaded, t_first_render, t_filter_start, t_filter_done;
        int exit_status;
} TestScript;

typedef struct Applet {
        GtkApplication *app;
        GDBusConnection *bus;
        guint watch_id;
        guint subscriptions[8];
        size_t n_subscriptions;
        gboolean loaded;
        GCancellable *cancel;

        GListStore *networks;           /* of WgNetItem */
        GHashTable *nets_by_path;       /* borrowed */
        GHashTable *peers_by_path;      /* borrowed; the nets' stores own them */
        WgNetItem *current;
        WgPeerItem *detail;

        GtkWindow *window;
        GtkSingleSelection *net_selection;
        GtkStack *stack;                /* "empty", "peers", "detail" */
        GtkLabel *empty_label;
        GtkLabel *net_title, *net_subtitle;
        GtkButton *activate_button, *add_peer_button;
        GtkSearchEntry *search;
        GtkStringFilter *filter;
        GtkFilterListModel *filter_model;
        GtkSortListModel *sort_model;
        GtkSingleSelection *peer_selection;
        GtkColumnView *peer_view;
        GtkWidget *peer_scroller;
        GtkLabel *count_label;

        GtkLabel *detail_title;
        GtkGrid *detail_grid;
        GtkDrawingArea *chart;
        GtkButton *enable_button;
        GtkWidget *rotate_keys_button;
        GtkWidget *remove_button;

        GtkRevealer *toast;
        GtkLabel *toast_label;
        guint toast_timeout;

        guint refresh_id;
        unsigned refresh_interval_ms;
        gboolean stats_in_flight;

        TestScript test;
} Applet;

extern Applet applet;

/* applet.c */
void applet_toast(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void applet_call_failed(const char *what, const GError *error);
void applet_call(const char *path, const char *iface, const char *method, GVariant *args,
                 const GVariantType *reply_type, gboolean privileged,
                 GAsyncReadyCallback cb, gpointer userdata);
GVariant *applet_call_finish(GAsyncResult *res, const char *what);
void net_update_header(void);
void select_network(WgNetItem *n);
/* A button that calls cb when clicked: a label, or an icon alone when label is NULL. */
GtkWidget *applet_button(const char *label, const char *icon, GCallback cb);

/* model.c: networks and peers from the bus, statistics */
void model_start(void);
gboolean model_refresh(gpointer data);

/* rows.c */
GtkListItemFactory *rows_net_factory(void);
void rows_add_peer_columns(GtkColumnView *view);
/* The counters or the online state of some peer changed: a list sorted by them is sorted
 * again (the sort model does not watch its items). */
void rows_counters_changed(void);

/* detail.c */
GtkWidget *detail_build_page(void);
void applet_show_detail(WgPeerItem *p);
void applet_detail_update(void);

/* dialogs.c */
void dialog_add_peer(WgNetItem *n);
void dialog_new_network(void);
/* config: AddPeer's or RotateKeys' reply (its QR code drawn here), or GetConfig's
 * (from_get_config: the QR code from GetQRCode). */
void dialog_show_config(const char *path, const char *name, const char *config, gboolean from_get_config);
void dialog_confirm_remove(WgPeerItem *p);
void dialog_peer_config(WgPeerItem *p);

/* chart.c */
void chart_draw(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer userdata);

/* test.c */
void test_step(void);
void test_save_widget(GtkWidget *w, const char *name);
void test_dialog_ready(const char *kind, GtkWindow *dialog);
void test_peer_added(const char *path);
