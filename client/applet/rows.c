/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rows of the network sidebar and of the peer list (list item factories, sorting). */

#include <string.h>

#include "applet.h"
#include "format.h"

/* ---- list rows --------------------------------------------------------------------- */

enum { COL_STATUS, COL_NAME, COL_ADDRESSES, COL_HANDSHAKE, COL_RX, COL_TX, COL_ENDPOINT };

static void set_dot(GtkWidget *dot, gboolean enabled, gboolean online) {
        gtk_widget_remove_css_class(dot, "online");
        gtk_widget_remove_css_class(dot, "offline");
        gtk_widget_remove_css_class(dot, "disabled");
        gtk_widget_add_css_class(dot, !enabled ? "disabled" : online ? "online" : "offline");
        gtk_widget_set_tooltip_text(dot, !enabled ? "disabled" : online ? "online" : "offline");
}

static void peer_cell_update(GtkListItem *li) {
        WgPeerItem *p = gtk_list_item_get_item(li);
        GtkWidget *w = gtk_list_item_get_child(li);
        int col = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(li), "column"));
        char buf[APPLET_AGO_STRLEN];

        if (!p || !w)
                return;
        switch (col) {
        case COL_STATUS:
                set_dot(w, p->enabled, p->online);
                break;
        case COL_NAME:
                gtk_label_set_text(GTK_LABEL(w), p->name);
                gtk_widget_set_opacity(w, p->enabled ? 1.0 : 0.55);
                break;
        case COL_ADDRESSES:
                gtk_label_set_text(GTK_LABEL(w), p->addresses ? p->addresses : "");
                break;
        case COL_HANDSHAKE:
                gtk_label_set_text(GTK_LABEL(w), applet_format_ago(p->last_handshake, (uint64_t) g_get_real_time(), buf));
                break;
        case COL_RX:
                gtk_label_set_text(GTK_LABEL(w), applet_format_bytes(p->rx, buf));
                break;
        case COL_TX:
                gtk_label_set_text(GTK_LABEL(w), applet_format_bytes(p->tx, buf));
                break;
        case COL_ENDPOINT:
                gtk_label_set_text(GTK_LABEL(w), p->endpoint && *p->endpoint ? p->endpoint : "–");
                break;
        }
}

static void on_peer_revision(GObject *item, GParamSpec *pspec, gpointer li) {
        peer_cell_update(li);
}

static void peer_cell_setup(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        int col = GPOINTER_TO_INT(data);
        GtkWidget *w;

        if (col == COL_STATUS) {
                w = gtk_label_new("●");
                gtk_widget_add_css_class(w, "dot");
        } else {
                w = gtk_label_new(NULL);
                gtk_label_set_xalign(GTK_LABEL(w), col == COL_RX || col == COL_TX ? 1.0f : 0.0f);
                gtk_label_set_ellipsize(GTK_LABEL(w), PANGO_ELLIPSIZE_END);
                if (col == COL_RX || col == COL_TX)
                        gtk_widget_add_css_class(w, "numeric");
                if (col == COL_NAME)
                        gtk_widget_add_css_class(w, "peer-name");
        }
        g_object_set_data(G_OBJECT(li), "column", data);
        gtk_list_item_set_child(li, w);
}

static void peer_cell_bind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgPeerItem *p = gtk_list_item_get_item(li);
        gulong id = g_signal_connect(p, "notify::revision", G_CALLBACK(on_peer_revision), li);

        g_object_set_data(G_OBJECT(li), "handler", GSIZE_TO_POINTER(id));
        peer_cell_update(li);
}

static void peer_cell_unbind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgPeerItem *p = gtk_list_item_get_item(li);
        gulong id = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(li), "handler"));

        if (p && id)
                g_signal_handler_disconnect(p, id);
        g_object_set_data(G_OBJECT(li), "handler", NULL);
}

static int compare_u64(guint64 a, guint64 b) {
        return a < b ? -1 : a > b;
}

static int peer_compare(gconstpointer a, gconstpointer b, gpointer data) {
        const WgPeerItem *x = a, *y = b;

        switch (GPOINTER_TO_INT(data)) {
        case COL_STATUS:
                return compare_u64((guint64) x->enabled * 2 + x->online, (guint64) y->enabled * 2 + y->online);
        case COL_HANDSHAKE:
                return compare_u64(x->last_handshake, y->last_handshake);
        case COL_RX:
                return compare_u64(x->rx, y->rx);
        case COL_TX:
                return compare_u64(x->tx, y->tx);
        default:
                return g_utf8_collate(x->name, y->name);
        }
}

/* The sorters of the status and counter columns. The column view's sorter listens only to
 * the columns it sorts by, so a change announced on all of them re-sorts only such a list. */
static GtkSorter *counter_sorters[4];
static size_t n_counter_sorters;

void rows_counters_changed(void) {
        for (size_t i = 0; i < n_counter_sorters; i++)
                gtk_sorter_changed(counter_sorters[i], GTK_SORTER_CHANGE_DIFFERENT);
}

static GtkColumnViewColumn *add_column(const char *title, int col, gboolean expand, int fixed_width) {
        GtkListItemFactory *f = gtk_signal_list_item_factory_new();
        GtkColumnViewColumn *c;

        g_signal_connect(f, "setup", G_CALLBACK(peer_cell_setup), GINT_TO_POINTER(col));
        g_signal_connect(f, "bind", G_CALLBACK(peer_cell_bind), NULL);
        g_signal_connect(f, "unbind", G_CALLBACK(peer_cell_unbind), NULL);
        c = gtk_column_view_column_new(title, f);
        gtk_column_view_column_set_expand(c, expand);
        gtk_column_view_column_set_resizable(c, TRUE);
        if (fixed_width > 0)
                gtk_column_view_column_set_fixed_width(c, fixed_width);
        if (col == COL_NAME) {
                /* collation keys computed once per item, not g_utf8_collate per comparison */
                g_autoptr(GtkSorter) s = GTK_SORTER(gtk_string_sorter_new(
                        gtk_property_expression_new(WG_TYPE_PEER_ITEM, NULL, "name")));
                gtk_column_view_column_set_sorter(c, s);
        } else if (col != COL_ADDRESSES && col != COL_ENDPOINT) {
                g_autoptr(GtkSorter) s = GTK_SORTER(gtk_custom_sorter_new(peer_compare, GINT_TO_POINTER(col), NULL));
                gtk_column_view_column_set_sorter(c, s);
                g_assert(n_counter_sorters < G_N_ELEMENTS(counter_sorters));
                counter_sorters[n_counter_sorters++] = s;     /* the column holds it */
        }
        gtk_column_view_append_column(applet.peer_view, c);
        g_object_unref(c);
        return c;
}

static void on_peer_activated(GtkColumnView *view, guint pos, gpointer data) {
        g_autoptr(WgPeerItem) p = g_list_model_get_item(G_LIST_MODEL(applet.peer_selection), pos);
        if (p)
                applet_show_detail(p);
}

static void net_row_update(GtkListItem *li) {
        WgNetItem *n = gtk_list_item_get_item(li);
        GtkWidget *box = gtk_list_item_get_child(li);

        if (!n || !box)
                return;
        GtkWidget *dot = gtk_widget_get_first_child(box);
        GtkWidget *vbox = gtk_widget_get_next_sibling(dot);
        GtkWidget *name = gtk_widget_get_first_child(vbox);
        GtkWidget *sub = gtk_widget_get_next_sibling(name);
        set_dot(dot, TRUE, n->active);
        gtk_widget_set_tooltip_text(dot, n->active ? "active" : "inactive");
        gtk_label_set_text(GTK_LABEL(name), n->name);
        g_autofree char *text = g_strdup_printf("%s · %u/%u online", n->active ? "active" : "inactive",
                                                n->online_count, n->peer_count);
        gtk_label_set_text(GTK_LABEL(sub), text);
}

static void on_net_revision(GObject *item, GParamSpec *pspec, gpointer li) {
        net_row_update(li);
}

static void net_row_setup(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *dot = gtk_label_new("●");
        GtkWidget *vbox = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
        GtkWidget *name = gtk_label_new(NULL);
        GtkWidget *sub = gtk_label_new(NULL);

        gtk_widget_add_css_class(dot, "dot");
        gtk_widget_add_css_class(name, "heading");
        gtk_widget_add_css_class(sub, "dim-label");
        gtk_widget_add_css_class(sub, "caption");
        gtk_label_set_xalign(GTK_LABEL(name), 0);
        gtk_label_set_xalign(GTK_LABEL(sub), 0);
        gtk_label_set_ellipsize(GTK_LABEL(name), PANGO_ELLIPSIZE_END);
        gtk_box_append(GTK_BOX(vbox), name);
        gtk_box_append(GTK_BOX(vbox), sub);
        gtk_box_append(GTK_BOX(box), dot);
        gtk_box_append(GTK_BOX(box), vbox);
        gtk_widget_set_margin_top(box, 6);
        gtk_widget_set_margin_bottom(box, 6);
        gtk_widget_set_margin_start(box, 6);
        gtk_widget_set_margin_end(box, 6);
        gtk_list_item_set_child(li, box);
}

static void net_row_bind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgNetItem *n = gtk_list_item_get_item(li);
        gulong id = g_signal_connect(n, "notify::revision", G_CALLBACK(on_net_revision), li);

        g_object_set_data(G_OBJECT(li), "handler", GSIZE_TO_POINTER(id));
        net_row_update(li);
}

static void net_row_unbind(GtkSignalListItemFactory *f, GtkListItem *li, gpointer data) {
        WgNetItem *n = gtk_list_item_get_item(li);
        gulong id = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(li), "handler"));

        if (n && id)
                g_signal_handler_disconnect(n, id);
        g_object_set_data(G_OBJECT(li), "handler", NULL);
}

GtkListItemFactory *rows_net_factory(void) {
        GtkListItemFactory *f = gtk_signal_list_item_factory_new();
        g_signal_connect(f, "setup", G_CALLBACK(net_row_setup), NULL);
        g_signal_connect(f, "bind", G_CALLBACK(net_row_bind), NULL);
        g_signal_connect(f, "unbind", G_CALLBACK(net_row_unbind), NULL);
        return f;
}

void rows_add_peer_columns(GtkColumnView *view) {
        add_column("", COL_STATUS, FALSE, 32);
        GtkColumnViewColumn *by_name = add_column("Name", COL_NAME, TRUE, -1);
        add_column("Addresses", COL_ADDRESSES, TRUE, -1);
        add_column("Last handshake", COL_HANDSHAKE, FALSE, 130);
        GtkColumnViewColumn *by_rx = add_column("Received", COL_RX, FALSE, 90);
        add_column("Sent", COL_TX, FALSE, 90);
        add_column("Endpoint", COL_ENDPOINT, FALSE, 150);
        gtk_column_view_sort_by_column(view, by_name, GTK_SORT_ASCENDING);
        if (applet.test.sort_rx)
                gtk_column_view_sort_by_column(view, by_rx, GTK_SORT_ASCENDING);
        g_signal_connect(view, "activate", G_CALLBACK(on_peer_activated), NULL);
}
