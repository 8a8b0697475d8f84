/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The peer detail page: the fields, the transfer chart, and the peer's actions. */

#include <string.h>

#include "applet.h"
#include "format.h"

/* ---- the peer detail page ---------------------------------------------------------- */

static void detail_row(int row, const char *key, const char *value) {
        GtkWidget *k = gtk_grid_get_child_at(applet.detail_grid, 0, row);
        GtkWidget *v = gtk_grid_get_child_at(applet.detail_grid, 1, row);

        if (!k) {
                k = gtk_label_new(key);
                gtk_label_set_xalign(GTK_LABEL(k), 1.0f);
                gtk_widget_add_css_class(k, "dim-label");
                v = gtk_label_new(NULL);
                gtk_label_set_xalign(GTK_LABEL(v), 0.0f);
                gtk_label_set_selectable(GTK_LABEL(v), TRUE);
                gtk_label_set_wrap(GTK_LABEL(v), TRUE);
                gtk_label_set_wrap_mode(GTK_LABEL(v), PANGO_WRAP_WORD_CHAR);
                gtk_grid_attach(applet.detail_grid, k, 0, row, 1, 1);
                gtk_grid_attach(applet.detail_grid, v, 1, row, 1, 1);
        }
        gtk_label_set_text(GTK_LABEL(v), value && *value ? value : "–");
}

static char *duration_text(guint64 s) {
        if (s == 86400)
                return g_strdup("1 day");
        if (s % 86400 == 0 && s >= 86400)
                return g_strdup_printf("%" G_GUINT64_FORMAT " days", s / 86400);
        if (s % 3600 == 0 && s >= 3600)
                return g_strdup_printf("%" G_GUINT64_FORMAT " h", s / 3600);
        if (s % 60 == 0 && s >= 60)
                return g_strdup_printf("%" G_GUINT64_FORMAT " min", s / 60);
        return g_strdup_printf("%" G_GUINT64_FORMAT " s", s);
}

/* RotationPending with its deadline, or the policy and the last rotation. */
static char *rotation_text(WgPeerItem *p) {
        GString *s = g_string_new(NULL);
        char ago[APPLET_AGO_STRLEN];

        if (p->rotation_pending) {
                g_string_append(s, "PENDING: the peer must get its new configuration");
                if (p->rotation_deadline) {
                        g_autoptr(GDateTime) d = g_date_time_new_from_unix_local((gint64) (p->rotation_deadline / G_USEC_PER_SEC));
                        g_autofree char *when = d ? g_date_time_format(d, "%Y-%m-%d %H:%M") : NULL;
                        if (when)
                                g_string_append_printf(s, "; the old key stops working at %s", when);
                }
        } else
                g_string_append(s, "not pending");
        if (p->last_rotation)
                g_string_append_printf(s, " · last rotated %s",
                                       applet_format_ago(p->last_rotation, (uint64_t) g_get_real_time(), ago));
        if (p->rotation_interval) {
                g_autofree char *every = duration_text(p->rotation_interval);
                g_string_append_printf(s, " · policy: %s every %s", p->rotation_kind ? p->rotation_kind : "rotate", every);
        }
        if (p->grace_period) {
                g_autofree char *grace = duration_text(p->grace_period);
                g_string_append_printf(s, " · grace period %s", grace);
        }
        return g_string_free(s, FALSE);
}

void applet_detail_update(void) {
        WgPeerItem *p = applet.detail;
        char ago[APPLET_AGO_STRLEN], rx[APPLET_BYTES_STRLEN], tx[APPLET_BYTES_STRLEN];
        int row = 0;

        if (!p)
                return;
        gtk_label_set_text(applet.detail_title, p->name);
        g_autofree char *state = g_strdup_printf("%s, %s", p->enabled ? "enabled" : "disabled",
                                                 p->online ? "online" : "offline");
        detail_row(row++, "State", state);
        detail_row(row++, "Addresses", p->addresses);
        detail_row(row++, "Public key", p->public_key);
        detail_row(row++, "Endpoint", p->endpoint);
        detail_row(row++, "Last handshake", applet_format_ago(p->last_handshake, (uint64_t) g_get_real_time(), ago));
        g_autofree char *transfer = g_strdup_printf("%s received, %s sent", applet_format_bytes(p->rx, rx),
                                                    applet_format_bytes(p->tx, tx));
        detail_row(row++, "Transfer", transfer);
        g_autofree char *ka = p->keepalive ? g_strdup_printf("every %u s", p->keepalive) : g_strdup("off");
        detail_row(row++, "Keepalive", ka);
        detail_row(row++, "Preshared key", p->has_psk ? "yes" : "no");
        detail_row(row++, "Private key", p->private_key_stored ? "stored by wgnetd" : "held by the peer only");
        g_autofree char *rotation = rotation_text(p);
        detail_row(row++, "Key rotation", rotation);
        /* always the row: a page shown before (another peer's) must not keep its email */
        detail_row(row++, "Email", p->email);
        gtk_button_set_label(applet.enable_button, p->enabled ? "Disable" : "Enable");
}

void applet_show_detail(WgPeerItem *p) {
        applet.detail = p;
        /* the counters as of the GetStats that read them, not as of now: a rate from that
         * sample to the next is then over the time that really passed */
        if (!p->history && p->counters_time)
                wg_peer_item_add_sample(p, p->counters_time, p->rx, p->tx);
        applet_detail_update();
        gtk_stack_set_visible_child_name(applet.stack, "detail");
        gtk_widget_queue_draw(GTK_WIDGET(applet.chart));
}

static void on_back_clicked(GtkButton *b, gpointer data) {
        applet.detail = NULL;
        gtk_stack_set_visible_child_name(applet.stack, applet.current ? "peers" : "empty");
}

static void peer_action_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GVariant) r = applet_call_finish(res, data);
}

static void on_enable_clicked(GtkButton *b, gpointer data) {
        WgPeerItem *p = applet.detail;
        if (p)
                applet_call(p->path, WGNET_PEER_IFACE, p->enabled ? "Disable" : "Enable", NULL, NULL, TRUE,
                            peer_action_done, p->enabled ? "disable the peer" : "enable the peer");
}

static void rotate_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(WgPeerItem) p = data;
        g_autoptr(GVariant) r = applet_call_finish(res, "rotate the keys");
        const char *config;

        if (!r)
                return;
        g_variant_get(r, "(&s)", &config);
        dialog_show_config(p->path, p->name, config, FALSE);      /* the new keys, drawn as they are */
}

/* "psk": a new preshared key at once; "keypair": a new key pair, the old one keeps working
 * until the new one shakes hands or the grace period ends (RotationPending meanwhile). */
static void on_rotate_clicked(GtkButton *b, gpointer what) {
        WgPeerItem *p = applet.detail;
        if (p)
                applet_call(p->path, WGNET_PEER_IFACE, "RotateKeys", g_variant_new("(s)", (const char *) what),
                            G_VARIANT_TYPE("(s)"), TRUE, rotate_done, g_object_ref(p));
}

static void on_config_clicked(GtkButton *b, gpointer data) {
        if (applet.detail)
                dialog_peer_config(applet.detail);
}

static void on_remove_clicked(GtkButton *b, gpointer data) {
        if (applet.detail)
                dialog_confirm_remove(applet.detail);
}

GtkWidget *detail_build_page(void) {
        GtkWidget *page = gtk_box_new(GTK_ORIENTATION_VERTICAL, 10);
        GtkWidget *head = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *actions = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *chart_title = gtk_label_new("Transfer (sampled by the applet from GetStats)");
        GtkWidget *scroll = gtk_scrolled_window_new();

        gtk_box_append(GTK_BOX(head), applet_button(NULL, "go-previous-symbolic", G_CALLBACK(on_back_clicked)));
        applet.detail_title = GTK_LABEL(gtk_label_new(NULL));
        gtk_widget_add_css_class(GTK_WIDGET(applet.detail_title), "title-1");
        gtk_label_set_xalign(applet.detail_title, 0);
        gtk_widget_set_hexpand(GTK_WIDGET(applet.detail_title), TRUE);
        gtk_box_append(GTK_BOX(head), GTK_WIDGET(applet.detail_title));

        applet.enable_button = GTK_BUTTON(applet_button("Disable", NULL, G_CALLBACK(on_enable_clicked)));
        gtk_box_append(GTK_BOX(actions), applet_button("Configuration and QR code…", NULL, G_CALLBACK(on_config_clicked)));
        GtkWidget *rotate_psk = gtk_button_new_with_label("Rotate preshared key");
        GtkWidget *rotate_keys = applet.rotate_keys_button = gtk_button_new_with_label("Rotate key pair");
        g_signal_connect(rotate_psk, "clicked", G_CALLBACK(on_rotate_clicked), (gpointer) "psk");
        g_signal_connect(rotate_keys, "clicked", G_CALLBACK(on_rotate_clicked), (gpointer) "keypair");
        gtk_widget_set_tooltip_text(rotate_keys, "A new key pair for the peer; the old key keeps working "
                                                 "until the new one is used or the grace period ends");
        gtk_box_append(GTK_BOX(actions), rotate_psk);
        gtk_box_append(GTK_BOX(actions), rotate_keys);
        gtk_box_append(GTK_BOX(actions), GTK_WIDGET(applet.enable_button));
        GtkWidget *remove = applet.remove_button = applet_button("Remove…", NULL, G_CALLBACK(on_remove_clicked));
        gtk_widget_add_css_class(remove, "destructive-action");
        gtk_box_append(GTK_BOX(actions), remove);

        applet.detail_grid = GTK_GRID(gtk_grid_new());
        gtk_grid_set_row_spacing(applet.detail_grid, 4);
        gtk_grid_set_column_spacing(applet.detail_grid, 12);

        gtk_label_set_xalign(GTK_LABEL(chart_title), 0);
        gtk_widget_add_css_class(chart_title, "heading");
        applet.chart = GTK_DRAWING_AREA(gtk_drawing_area_new());
        gtk_drawing_area_set_content_height(applet.chart, 200);
        gtk_drawing_area_set_draw_func(applet.chart, chart_draw, NULL, NULL);
        gtk_widget_add_css_class(GTK_WIDGET(applet.chart), "chart");
        gtk_widget_set_vexpand(GTK_WIDGET(applet.chart), TRUE);

        GtkWidget *inner = gtk_box_new(GTK_ORIENTATION_VERTICAL, 10);
        gtk_box_append(GTK_BOX(inner), GTK_WIDGET(applet.detail_grid));
        gtk_box_append(GTK_BOX(inner), chart_title);
        gtk_box_append(GTK_BOX(inner), GTK_WIDGET(applet.chart));
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), inner);
        gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
        gtk_widget_set_vexpand(scroll, TRUE);

        gtk_box_append(GTK_BOX(page), head);
        gtk_box_append(GTK_BOX(page), actions);
        gtk_box_append(GTK_BOX(page), scroll);
        return page;
}
