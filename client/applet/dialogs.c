/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The applet's dialogs: add a peer, create a network, a peer's configuration with its QR
 * code, the confirmation before removing a peer. */

#include <string.h>

#include "applet.h"
#include "config-qr.h"
#include "keys.h"

static void on_dialog_destroy(GtkWidget *w, gpointer data) {
        g_object_set_data(G_OBJECT(w), "closed", GINT_TO_POINTER(1));
}

/* A reply may come after its dialog was closed: the callbacks hold a reference on the
 * window and look here before they touch its widgets. */
static gboolean dialog_closed(GtkWindow *w) {
        return GPOINTER_TO_INT(g_object_get_data(G_OBJECT(w), "closed"));
}

static GtkWindow *dialog_new(const char *title) {
        GtkWindow *w = GTK_WINDOW(gtk_window_new());

        g_signal_connect(w, "destroy", G_CALLBACK(on_dialog_destroy), NULL);

        gtk_window_set_title(w, title);
        gtk_window_set_transient_for(w, applet.window);
        gtk_window_set_modal(w, TRUE);
        gtk_window_set_destroy_with_parent(w, TRUE);
        gtk_window_set_resizable(w, FALSE);
        return w;
}

static GtkWidget *form_label(GtkGrid *g, int row, const char *text) {
        GtkWidget *l = gtk_label_new(text);
        gtk_label_set_xalign(GTK_LABEL(l), 1.0f);
        gtk_grid_attach(g, l, 0, row, 1, 1);
        return l;
}

static GtkWidget *padded_box(GtkOrientation o, int spacing) {
        GtkWidget *b = gtk_box_new(o, spacing);
        gtk_widget_set_margin_top(b, 18);
        gtk_widget_set_margin_bottom(b, 18);
        gtk_widget_set_margin_start(b, 18);
        gtk_widget_set_margin_end(b, 18);
        return b;
}

static GtkWidget *error_label(void) {
        GtkWidget *l = gtk_label_new(NULL);
        gtk_widget_add_css_class(l, "error");
        gtk_label_set_wrap(GTK_LABEL(l), TRUE);
        gtk_label_set_max_width_chars(GTK_LABEL(l), 60);
        gtk_label_set_xalign(GTK_LABEL(l), 0);
        gtk_widget_set_visible(l, FALSE);
        return l;
}

static void show_error(GtkWidget *label, const GError *error) {
        g_autoptr(GError) copy = g_error_copy(error);
        g_dbus_error_strip_remote_error(copy);
        gtk_label_set_text(GTK_LABEL(label), copy->message);
        gtk_widget_set_visible(label, TRUE);
}

/* The entries of a comma or blank separated list, as a strv. */
static char **split_list(const char *text) {
        g_auto(GStrv) parts = g_regex_split_simple("[\\s,]+", text, 0, 0);
        GStrvBuilder *b = g_strv_builder_new();

        for (size_t i = 0; parts[i]; i++)
                if (*parts[i])
                        g_strv_builder_add(b, parts[i]);
        char **l = g_strv_builder_end(b);
        g_strv_builder_unref(b);
        return l;
}

/* ---- add a peer -------------------------------------------------------------------- */

typedef struct {
        GtkWindow *window;
        WgNetItem *net;
        GtkEntry *name, *addresses, *public_key;
        GtkCheckButton *auto_addresses, *psk, *own_key;
        GtkSpinButton *keepalive;
        GtkWidget *error, *add;
        char *peer_name;
} AddPeer;

static void add_peer_free(gpointer data) {
        AddPeer *d = data;
        g_object_unref(d->net);
        g_free(d->peer_name);
        g_free(d);
}

static void add_peer_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GtkWindow) window = data;
        AddPeer *d = g_object_get_data(G_OBJECT(window), "dialog");
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, &error);
        const char *path, *config;

        if (!reply) {
                applet_call_failed("add the peer", error);
                if (!dialog_closed(window)) {
                        gtk_widget_set_sensitive(d->add, TRUE);
                        show_error(d->error, error);
                }
                if (applet.test.add_peer)
                        test_dialog_ready("add-peer-failed", window);
                return;
        }
        g_variant_get(reply, "(&o&s)", &path, &config);
        if (applet.test.add_peer)
                test_peer_added(path);
        g_autofree char *name = g_strdup(d->peer_name);
        if (!dialog_closed(window))
                gtk_window_destroy(window);
        dialog_show_config(path, name, config, FALSE);
}

static void add_peer_submit(GtkButton *b, gpointer data) {
        AddPeer *d = data;
        GVariantBuilder opts;
        const char *name = gtk_editable_get_text(GTK_EDITABLE(d->name));

        g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
        if (!gtk_check_button_get_active(d->auto_addresses)) {
                g_auto(GStrv) l = split_list(gtk_editable_get_text(GTK_EDITABLE(d->addresses)));
                g_variant_builder_add(&opts, "{sv}", "Addresses", g_variant_new_strv((const char *const *) l, -1));
        }
        g_variant_builder_add(&opts, "{sv}", "PersistentKeepalive",
                              g_variant_new_uint16((guint16) gtk_spin_button_get_value_as_int(d->keepalive)));
        g_variant_builder_add(&opts, "{sv}", "PresharedKey", g_variant_new_boolean(gtk_check_button_get_active(d->psk)));
        if (gtk_check_button_get_active(d->own_key))
                g_variant_builder_add(&opts, "{sv}", "PublicKey",
                                      g_variant_new_string(gtk_editable_get_text(GTK_EDITABLE(d->public_key))));
        gtk_widget_set_visible(d->error, FALSE);
        gtk_widget_set_sensitive(d->add, FALSE);
        g_free(d->peer_name);
        d->peer_name = g_strdup(name);
        applet_call(d->net->path, WGNET_NETWORK_IFACE, "AddPeer", g_variant_new("(sa{sv})", name, &opts),
                    G_VARIANT_TYPE("(os)"), TRUE, add_peer_done, g_object_ref(d->window));
}

static void sync_sensitive(GtkCheckButton *c, gpointer data) {
        AddPeer *d = data;
        gtk_widget_set_sensitive(GTK_WIDGET(d->addresses), !gtk_check_button_get_active(d->auto_addresses));
        gtk_widget_set_sensitive(GTK_WIDGET(d->public_key), gtk_check_button_get_active(d->own_key));
}

static void next_addresses_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GtkEntry) entry = data;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, NULL);
        g_autofree const char **l = NULL;

        if (!reply)
                return;
        g_variant_get(reply, "(^a&s)", &l);
        g_autofree char *text = g_strjoinv(", ", (char **) l);
        gtk_entry_set_placeholder_text(entry, text);
}

static void cancel_clicked(GtkButton *b, gpointer window) {
        gtk_window_destroy(window);
}

void dialog_add_peer(WgNetItem *n) {
        g_autofree char *title = g_strdup_printf("Add a peer to %s", n->name);
        AddPeer *d = g_new0(AddPeer, 1);
        GtkWidget *box = padded_box(GTK_ORIENTATION_VERTICAL, 12);
        GtkGrid *g = GTK_GRID(gtk_grid_new());
        GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *cancel = gtk_button_new_with_label("Cancel");

        d->window = dialog_new(title);
        d->net = g_object_ref(n);
        g_object_set_data_full(G_OBJECT(d->window), "dialog", d, add_peer_free);
        gtk_grid_set_row_spacing(g, 8);
        gtk_grid_set_column_spacing(g, 12);

        form_label(g, 0, "Name");
        d->name = GTK_ENTRY(gtk_entry_new());
        gtk_entry_set_placeholder_text(d->name, "e.g. alice-laptop");
        gtk_entry_set_activates_default(d->name, TRUE);
        gtk_widget_set_hexpand(GTK_WIDGET(d->name), TRUE);
        gtk_grid_attach(g, GTK_WIDGET(d->name), 1, 0, 1, 1);

        form_label(g, 1, "Addresses");
        d->auto_addresses = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("Next free addresses of the network"));
        gtk_check_button_set_active(d->auto_addresses, TRUE);
        gtk_grid_attach(g, GTK_WIDGET(d->auto_addresses), 1, 1, 1, 1);
        d->addresses = GTK_ENTRY(gtk_entry_new());
        gtk_grid_attach(g, GTK_WIDGET(d->addresses), 1, 2, 1, 1);
        applet_call(n->path, WGNET_NETWORK_IFACE, "NextAddresses", NULL, G_VARIANT_TYPE("(as)"), FALSE,
                    next_addresses_done, g_object_ref(d->addresses));

        form_label(g, 3, "Keepalive");
        GtkWidget *ka = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        d->keepalive = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 65535, 1));
        gtk_spin_button_set_value(d->keepalive, 25);
        gtk_box_append(GTK_BOX(ka), GTK_WIDGET(d->keepalive));
        gtk_box_append(GTK_BOX(ka), gtk_label_new("seconds (0 = off)"));
        gtk_grid_attach(g, ka, 1, 3, 1, 1);

        form_label(g, 4, "Preshared key");
        d->psk = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("Generate one (extra post-quantum layer)"));
        gtk_check_button_set_active(d->psk, TRUE);
        gtk_grid_attach(g, GTK_WIDGET(d->psk), 1, 4, 1, 1);

        form_label(g, 5, "Keys");
        d->own_key = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("The peer made its own key pair; its public key:"));
        gtk_grid_attach(g, GTK_WIDGET(d->own_key), 1, 5, 1, 1);
        d->public_key = GTK_ENTRY(gtk_entry_new());
        gtk_entry_set_placeholder_text(d->public_key, "44 characters of base64 (wg pubkey)");
        gtk_grid_attach(g, GTK_WIDGET(d->public_key), 1, 6, 1, 1);
        g_signal_connect(d->auto_addresses, "toggled", G_CALLBACK(sync_sensitive), d);
        g_signal_connect(d->own_key, "toggled", G_CALLBACK(sync_sensitive), d);
        sync_sensitive(NULL, d);

        d->error = error_label();
        d->add = gtk_button_new_with_label("Add peer");
        gtk_widget_add_css_class(d->add, "suggested-action");
        g_signal_connect(d->add, "clicked", G_CALLBACK(add_peer_submit), d);
        g_signal_connect(cancel, "clicked", G_CALLBACK(cancel_clicked), d->window);
        gtk_widget_set_halign(buttons, GTK_ALIGN_END);
        gtk_box_append(GTK_BOX(buttons), cancel);
        gtk_box_append(GTK_BOX(buttons), d->add);

        gtk_box_append(GTK_BOX(box), GTK_WIDGET(g));
        gtk_box_append(GTK_BOX(box), d->error);
        gtk_box_append(GTK_BOX(box), buttons);
        gtk_window_set_child(d->window, box);
        gtk_window_set_default_widget(d->window, d->add);
        gtk_window_set_default_size(d->window, 560, -1);
        gtk_window_present(d->window);

        if (applet.test.add_peer) {
                gtk_editable_set_text(GTK_EDITABLE(d->name), applet.test.add_peer);
                g_object_set_data(G_OBJECT(d->window), "test-submit", d->add);
                test_dialog_ready("add-peer", d->window);
        }
}

/* ---- a peer's configuration and QR code -------------------------------------------- */

typedef struct {
        GtkWindow *window;
        char *path, *name;
        char *config;                   /* holds a private key: this copy is wiped when the dialog
                                         * goes (GTK's and GDBus's own copies are not) */
        GBytes *png;
        GtkWidget *qr_stack;
        GtkPicture *qr;
        GtkLabel *qr_message;
} ShowConfig;

static void wipe_free(char *s) {
        if (s) {
                memset(s, 0, strlen(s));
                g_free(s);
        }
}

/* A copied config holds a private key: the clipboard is emptied a minute later, or when
 * the dialog goes, whichever comes first, if it still holds what the applet put there
 * (not what the user copied since). */
#define SECRET_CLIPBOARD_SECONDS 60

static GdkClipboard *secret_clipboard;
static GdkContentProvider *secret_content;
static guint secret_timeout;

static void secret_clipboard_clear(void) {
        if (secret_timeout)
                g_source_remove(secret_timeout);
        secret_timeout = 0;
        if (secret_clipboard && gdk_clipboard_get_content(secret_clipboard) == secret_content)
                gdk_clipboard_set_content(secret_clipboard, NULL);
        g_clear_object(&secret_clipboard);
        g_clear_object(&secret_content);
}

static gboolean secret_clipboard_expired(gpointer data) {
        secret_timeout = 0;             /* this source ends by returning */
        secret_clipboard_clear();
        return G_SOURCE_REMOVE;
}

static void show_config_free(gpointer data) {
        ShowConfig *d = data;
        secret_clipboard_clear();
        wipe_free(d->config);
        g_free(d->path);
        g_free(d->name);
        if (d->png)
                g_bytes_unref(d->png);
        g_free(d);
}

/* The daemon's PNG has a few pixels per module; scaled up without smoothing it stays sharp
 * and readable by a phone camera. */
static GdkTexture *qr_texture(GBytes *png, GError **error) {
        g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new_with_type("png", error);

        if (!loader || !gdk_pixbuf_loader_write_bytes(loader, png, error) || !gdk_pixbuf_loader_close(loader, error))
                return NULL;
        GdkPixbuf *pb = gdk_pixbuf_loader_get_pixbuf(loader);
        int w = gdk_pixbuf_get_width(pb), h = gdk_pixbuf_get_height(pb);
        int factor = MAX(1, 360 / MAX(w, 1));
        g_autoptr(GdkPixbuf) big = gdk_pixbuf_scale_simple(pb, w * factor, h * factor, GDK_INTERP_NEAREST);
        return gdk_texture_new_for_pixbuf(big);
}

/* d->png drawn, or error: the picture, or why there is none. */
static void qr_show(ShowConfig *d, const GError *failed) {
        g_autoptr(GdkTexture) texture = NULL;
        g_autoptr(GError) error = failed ? g_error_copy(failed) : NULL;

        if (d->png && !error)
                texture = qr_texture(d->png, &error);
        if (!texture) {
                if (!error)
                        error = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_FAILED, "no image");
                g_dbus_error_strip_remote_error(error);
                g_autofree char *text = g_strdup_printf("No QR code: %s", error->message);
                gtk_label_set_text(d->qr_message, text);
                if (applet.test.add_peer)
                        applet.test.exit_status = 2;
        } else {
                gtk_picture_set_paintable(d->qr, GDK_PAINTABLE(texture));
                gtk_stack_set_visible_child(GTK_STACK(d->qr_stack), GTK_WIDGET(d->qr));
        }
        if (applet.test.add_peer || applet.test.rotating)
                test_dialog_ready("config", d->window);
}

static void qr_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GtkWindow) window = data;
        ShowConfig *d = g_object_get_data(G_OBJECT(window), "dialog");
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, &error);

        if (dialog_closed(window))
                return;
        if (reply) {
                g_autoptr(GVariant) bytes = g_variant_get_child_value(reply, 0);
                d->png = g_variant_get_data_as_bytes(bytes);
        }
        qr_show(d, error);
}

typedef struct {
        uint8_t *data;
        size_t size;
} WipedPng;

static void wiped_png_free(gpointer p) {
        WipedPng *w = p;
        wg_wipe_free(w->data, w->size);
        g_free(w);
}

/* The QR code of the config in hand, drawn here (config-qr.h says why). */
static void qr_draw(ShowConfig *d) {
        g_autoptr(GError) error = NULL;
        uint8_t *png = NULL;
        size_t size = 0;
        int r = applet_config_qr_png(d->config, &png, &size);

        if (r < 0)
                error = g_error_new(G_IO_ERROR, g_io_error_from_errno(-r), "%s",
                                    r == -EMSGSIZE ? "the configuration is too long for a QR code" : g_strerror(-r));
        else {
                WipedPng *w = g_new(WipedPng, 1);
                *w = (WipedPng) { .data = png, .size = size };
                d->png = g_bytes_new_with_free_func(png, size, wiped_png_free, w);
        }
        qr_show(d, error);
}

static void copy_clicked(GtkButton *b, gpointer data) {
        ShowConfig *d = data;
        secret_clipboard_clear();
        secret_clipboard = g_object_ref(gtk_widget_get_clipboard(GTK_WIDGET(b)));
        secret_content = gdk_content_provider_new_typed(G_TYPE_STRING, d->config);
        gdk_clipboard_set_content(secret_clipboard, secret_content);
        secret_timeout = g_timeout_add_seconds(SECRET_CLIPBOARD_SECONDS, secret_clipboard_expired, NULL);
        gtk_button_set_label(b, "Copied (cleared in a minute)");
}

typedef struct {
        GtkWindow *window;              /* ref */
        gboolean qr;
} SaveRequest;

static void save_response(GtkNativeDialog *chooser, int response, gpointer data) {
        SaveRequest *s = data;
        ShowConfig *d = g_object_get_data(G_OBJECT(s->window), "dialog");

        if (response == GTK_RESPONSE_ACCEPT) {
                g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(chooser));
                g_autofree char *path = g_file_get_path(file);
                g_autoptr(GError) error = NULL;
                const void *data_ptr = s->qr ? g_bytes_get_data(d->png, NULL) : d->config;
                gsize len = s->qr ? g_bytes_get_size(d->png) : strlen(d->config);

                /* 0600: the configuration holds a private key, the QR code encodes it too */
                if (!path || !g_file_set_contents_full(path, data_ptr, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT,
                                                       0600, &error))
                        applet_toast("Cannot save %s: %s", path ? path : "the file",
                                     error ? error->message : "not a local file");
                else
                        applet_toast("Saved %s", path);
        }
        g_object_unref(s->window);
        g_free(s);
        g_object_unref(chooser);
}

static void save(ShowConfig *d, gboolean qr) {
        GtkFileChooserNative *chooser;
        SaveRequest *s = g_new(SaveRequest, 1);
        g_autofree char *fname = g_strdup_printf("%s.%s", d->name, qr ? "png" : "conf");

        if (qr && !d->png) {
                g_free(s);
                return;
        }
        *s = (SaveRequest) { .window = g_object_ref(d->window), .qr = qr };
        chooser = gtk_file_chooser_native_new(qr ? "Save the QR code" : "Save the configuration", d->window,
                                              GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
        gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(chooser), fname);
        g_signal_connect(chooser, "response", G_CALLBACK(save_response), s);
        gtk_native_dialog_show(GTK_NATIVE_DIALOG(chooser));
}

static void save_config_clicked(GtkButton *b, gpointer data) {
        save(data, FALSE);
}

static void save_qr_clicked(GtkButton *b, gpointer data) {
        save(data, TRUE);
}

void dialog_show_config(const char *path, const char *name, const char *config, gboolean from_get_config) {
        g_autofree char *title = g_strdup_printf("Configuration for %s", name);
        ShowConfig *d = g_new0(ShowConfig, 1);
        GtkWidget *box = padded_box(GTK_ORIENTATION_VERTICAL, 12);
        GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 18);
        GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *view = gtk_text_view_new();
        GtkWidget *scroll = gtk_scrolled_window_new();
        GtkWidget *note = gtk_label_new("This configuration holds the peer's private key: give it only to the peer. "
                                        "Scan the code with the WireGuard app, or save the file for wg-quick.");

        d->window = dialog_new(title);
        d->path = g_strdup(path);
        d->name = g_strdup(name);
        d->config = g_strdup(config);
        g_object_set_data_full(G_OBJECT(d->window), "dialog", d, show_config_free);

        d->qr_stack = gtk_stack_new();
        d->qr_message = GTK_LABEL(gtk_label_new("Loading the QR code…"));
        gtk_label_set_wrap(d->qr_message, TRUE);
        gtk_label_set_max_width_chars(d->qr_message, 30);
        d->qr = GTK_PICTURE(gtk_picture_new());
        gtk_picture_set_can_shrink(d->qr, FALSE);
        gtk_stack_add_child(GTK_STACK(d->qr_stack), GTK_WIDGET(d->qr_message));
        gtk_stack_add_child(GTK_STACK(d->qr_stack), GTK_WIDGET(d->qr));
        gtk_widget_set_size_request(d->qr_stack, 300, 300);
        gtk_widget_set_valign(d->qr_stack, GTK_ALIGN_CENTER);

        gtk_text_view_set_editable(GTK_TEXT_VIEW(view), FALSE);
        gtk_text_view_set_monospace(GTK_TEXT_VIEW(view), TRUE);
        gtk_text_view_set_left_margin(GTK_TEXT_VIEW(view), 8);
        gtk_text_view_set_top_margin(GTK_TEXT_VIEW(view), 8);
        gtk_text_buffer_set_text(gtk_text_view_get_buffer(GTK_TEXT_VIEW(view)), config, -1);
        gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), view);
        gtk_scrolled_window_set_has_frame(GTK_SCROLLED_WINDOW(scroll), TRUE);
        gtk_widget_set_size_request(scroll, 470, 300);
        gtk_widget_set_hexpand(scroll, TRUE);

        gtk_box_append(GTK_BOX(row), d->qr_stack);
        gtk_box_append(GTK_BOX(row), scroll);

        gtk_label_set_wrap(GTK_LABEL(note), TRUE);
        gtk_label_set_max_width_chars(GTK_LABEL(note), 90);
        gtk_label_set_xalign(GTK_LABEL(note), 0);
        gtk_widget_add_css_class(note, "dim-label");

        GtkWidget *copy = gtk_button_new_with_label("Copy configuration");
        GtkWidget *save_conf = gtk_button_new_with_label("Save configuration…");
        GtkWidget *save_qr = gtk_button_new_with_label("Save QR code…");
        GtkWidget *close = gtk_button_new_with_label("Close");
        g_signal_connect(copy, "clicked", G_CALLBACK(copy_clicked), d);
        g_signal_connect(save_conf, "clicked", G_CALLBACK(save_config_clicked), d);
        g_signal_connect(save_qr, "clicked", G_CALLBACK(save_qr_clicked), d);
        g_signal_connect(close, "clicked", G_CALLBACK(cancel_clicked), d->window);
        gtk_widget_set_halign(buttons, GTK_ALIGN_END);
        gtk_box_append(GTK_BOX(buttons), copy);
        gtk_box_append(GTK_BOX(buttons), save_conf);
        gtk_box_append(GTK_BOX(buttons), save_qr);
        gtk_box_append(GTK_BOX(buttons), close);

        gtk_box_append(GTK_BOX(box), row);
        gtk_box_append(GTK_BOX(box), note);
        gtk_box_append(GTK_BOX(box), buttons);
        gtk_window_set_child(d->window, box);
        gtk_window_set_default_widget(d->window, close);
        gtk_window_present(d->window);

        /* The config of AddPeer's or RotateKeys' reply is drawn as it is: with key policy
         * one-time it holds the only copy of the private key, which GetQRCode's would lack. */
        if (from_get_config)
                applet_call(path, WGNET_PEER_IFACE, "GetQRCode", g_variant_new("(s)", "png"), G_VARIANT_TYPE("(ay)"),
                            TRUE, qr_done, g_object_ref(d->window));
        else
                qr_draw(d);
}

static void get_config_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(WgPeerItem) p = data;
        g_autoptr(GVariant) reply = applet_call_finish(res, "read the peer's configuration");
        const char *config;

        if (!reply)
                return;
        g_variant_get(reply, "(&s)", &config);
        dialog_show_config(p->path, p->name, config, TRUE);
}

void dialog_peer_config(WgPeerItem *p) {
        applet_call(p->path, WGNET_PEER_IFACE, "GetConfig", NULL, G_VARIANT_TYPE("(s)"), TRUE, get_config_done,
                    g_object_ref(p));
}

/* ---- remove a peer ----------------------------------------------------------------- */

static void remove_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GVariant) reply = applet_call_finish(res, "remove the peer");
        g_autofree char *name = data;

        if (reply)
                applet_toast("Peer '%s' removed", name);
}

static void remove_response(GtkDialog *dialog, int response, gpointer data) {
        g_autoptr(WgPeerItem) p = data;

        if (response == GTK_RESPONSE_ACCEPT)
                applet_call(p->path, WGNET_PEER_IFACE, "Remove", NULL, NULL, TRUE, remove_done, g_strdup(p->name));
        gtk_window_destroy(GTK_WINDOW(dialog));
}

void dialog_confirm_remove(WgPeerItem *p) {
        GtkWidget *dialog = gtk_message_dialog_new(applet.window, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "Remove peer '%s'?", p->name);
        gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(dialog),
                                                 "Its key stops working at once and its addresses are freed. "
                                                 "This cannot be undone.");
        gtk_dialog_add_button(GTK_DIALOG(dialog), "Cancel", GTK_RESPONSE_CANCEL);
        GtkWidget *b = gtk_dialog_add_button(GTK_DIALOG(dialog), "Remove", GTK_RESPONSE_ACCEPT);
        gtk_widget_add_css_class(b, "destructive-action");
        gtk_dialog_set_default_response(GTK_DIALOG(dialog), GTK_RESPONSE_CANCEL);
        g_signal_connect(dialog, "response", G_CALLBACK(remove_response), g_object_ref(p));
        gtk_window_present(GTK_WINDOW(dialog));
        if (applet.test.manage)
                test_dialog_ready("remove", GTK_WINDOW(dialog));
}

/* ---- create a network -------------------------------------------------------------- */

typedef struct {
        GtkWindow *window;
        GtkEntry *name, *addresses, *endpoint;
        GtkSpinButton *port;
        GtkCheckButton *activate;
        GtkWidget *error, *create;
} NewNetwork;

static void new_network_done(GObject *source, GAsyncResult *res, gpointer data) {
        g_autoptr(GtkWindow) window = data;
        NewNetwork *d = g_object_get_data(G_OBJECT(window), "dialog");
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(applet.bus, res, &error);
        const char *path;

        if (!reply) {
                applet_call_failed("create the network", error);
                if (!dialog_closed(window)) {
                        gtk_widget_set_sensitive(d->create, TRUE);
                        show_error(d->error, error);
                }
                return;
        }
        g_variant_get(reply, "(&o)", &path);
        for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(applet.networks)); i++) {
                g_autoptr(WgNetItem) n = g_list_model_get_item(G_LIST_MODEL(applet.networks), i);
                if (strcmp(n->path, path) == 0)
                        gtk_single_selection_set_selected(applet.net_selection, i);
        }
        if (!dialog_closed(window))
                gtk_window_destroy(window);
}

static void new_network_submit(GtkButton *b, gpointer data) {
        NewNetwork *d = data;
        GVariantBuilder opts;
        g_auto(GStrv) addresses = split_list(gtk_editable_get_text(GTK_EDITABLE(d->addresses)));
        const char *endpoint = gtk_editable_get_text(GTK_EDITABLE(d->endpoint));
        int port = gtk_spin_button_get_value_as_int(d->port);

        g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
        g_variant_builder_add(&opts, "{sv}", "Addresses", g_variant_new_strv((const char *const *) addresses, -1));
        if (*endpoint)
                g_variant_builder_add(&opts, "{sv}", "Endpoint", g_variant_new_string(endpoint));
        if (port > 0)
                g_variant_builder_add(&opts, "{sv}", "ListenPort", g_variant_new_uint16((guint16) port));
        g_variant_builder_add(&opts, "{sv}", "Activate", g_variant_new_boolean(gtk_check_button_get_active(d->activate)));
        gtk_widget_set_visible(d->error, FALSE);
        gtk_widget_set_sensitive(d->create, FALSE);
        applet_call(WGNET_MANAGER_PATH, WGNET_MANAGER_IFACE, "CreateNetwork",
                    g_variant_new("(sa{sv})", gtk_editable_get_text(GTK_EDITABLE(d->name)), &opts),
                    G_VARIANT_TYPE("(o)"), TRUE, new_network_done, g_object_ref(d->window));
}

void dialog_new_network(void) {
        NewNetwork *d = g_new0(NewNetwork, 1);
        GtkWidget *box = padded_box(GTK_ORIENTATION_VERTICAL, 12);
        GtkGrid *g = GTK_GRID(gtk_grid_new());
        GtkWidget *buttons = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
        GtkWidget *cancel = gtk_button_new_with_label("Cancel");

        if (!applet.bus) {
                g_free(d);
                return;
        }
        d->window = dialog_new("New network");
        g_object_set_data_full(G_OBJECT(d->window), "dialog", d, g_free);
        gtk_grid_set_row_spacing(g, 8);
        gtk_grid_set_column_spacing(g, 12);

        form_label(g, 0, "Name");
        d->name = GTK_ENTRY(gtk_entry_new());
        gtk_entry_set_placeholder_text(d->name, "also the interface name, e.g. wg-office");
        gtk_widget_set_hexpand(GTK_WIDGET(d->name), TRUE);
        gtk_grid_attach(g, GTK_WIDGET(d->name), 1, 0, 1, 1);
        form_label(g, 1, "Server addresses");
        d->addresses = GTK_ENTRY(gtk_entry_new());
        gtk_entry_set_placeholder_text(d->addresses, "10.80.0.1/24, fd00:80::1/64");
        gtk_grid_attach(g, GTK_WIDGET(d->addresses), 1, 1, 1, 1);
        form_label(g, 2, "Public endpoint");
        d->endpoint = GTK_ENTRY(gtk_entry_new());
        gtk_entry_set_placeholder_text(d->endpoint, "vpn.example.com:51820 (for the peers' configs)");
        gtk_grid_attach(g, GTK_WIDGET(d->endpoint), 1, 2, 1, 1);
        form_label(g, 3, "Listen port");
        d->port = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 65535, 1));
        gtk_widget_set_tooltip_text(GTK_WIDGET(d->port), "0: the next free port");
        gtk_widget_set_halign(GTK_WIDGET(d->port), GTK_ALIGN_START);
        gtk_grid_attach(g, GTK_WIDGET(d->port), 1, 3, 1, 1);
        d->activate = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("Bring the interface up now"));
        gtk_check_button_set_active(d->activate, TRUE);
        gtk_grid_attach(g, GTK_WIDGET(d->activate), 1, 4, 1, 1);

        d->error = error_label();
        d->create = gtk_button_new_with_label("Create");
        gtk_widget_add_css_class(d->create, "suggested-action");
        g_signal_connect(d->create, "clicked", G_CALLBACK(new_network_submit), d);
        g_signal_connect(cancel, "clicked", G_CALLBACK(cancel_clicked), d->window);
        gtk_widget_set_halign(buttons, GTK_ALIGN_END);
        gtk_box_append(GTK_BOX(buttons), cancel);
        gtk_box_append(GTK_BOX(buttons), d->create);
        gtk_box_append(GTK_BOX(box), GTK_WIDGET(g));
        gtk_box_append(GTK_BOX(box), d->error);
        gtk_box_append(GTK_BOX(box), buttons);
        gtk_window_set_child(d->window, box);
        gtk_window_set_default_widget(d->window, d->create);
        gtk_window_set_default_size(d->window, 520, -1);
        gtk_window_present(d->window);

        if (applet.test.new_network) {
                /* "NAME,ADDRESS": typed into the form, then "Create" is pressed */
                g_auto(GStrv) parts = g_strsplit(applet.test.new_network, ",", 2);
                gtk_editable_set_text(GTK_EDITABLE(d->name), parts[0]);
                gtk_editable_set_text(GTK_EDITABLE(d->addresses), parts[0] && parts[1] ? parts[1] : "");
                gtk_editable_set_text(GTK_EDITABLE(d->endpoint), "vpn.example.com:51990");
                g_object_set_data(G_OBJECT(d->window), "test-submit", d->create);
                test_dialog_ready("new-network", d->window);
        }
}
