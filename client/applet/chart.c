/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transfer chart of the peer detail page: receive and send rates between the samples
 * the applet took from GetStats, drawn with cairo. */

#include <math.h>

#include "applet.h"
#include "format.h"

/* A round top for the y axis in binary units (4 KiB/s, 200 MiB/s): the grid lines at
 * quarters of it get round labels too. */
static double nice_ceiling(double v) {
        static const double steps[] = { 1, 2, 4, 8, 10, 20, 40, 80, 100, 200, 400, 800, 1024 };
        double unit = 1;

        if (v <= 0)
                return 1024;
        while (v / unit >= 1024)
                unit *= 1024;
        for (size_t i = 0; i < G_N_ELEMENTS(steps); i++)
                if (v <= steps[i] * unit)
                        return steps[i] * unit;
        return 1024 * unit;
}

static double rate_at(WgPeerItem *p, size_t i, gboolean tx) {
        const TransferSample *a = wg_peer_item_sample(p, i - 1), *b = wg_peer_item_sample(p, i);
        double dt = (double) (b->time - a->time) / G_USEC_PER_SEC;
        uint64_t x = tx ? a->tx : a->rx, y = tx ? b->tx : b->rx;

        if (dt <= 0 || y < x)           /* counters reset (device re-created) */
                return 0;
        return (double) (y - x) / dt;
}

static void set_rgb(cairo_t *cr, const GdkRGBA *c, double alpha) {
        cairo_set_source_rgba(cr, c->red, c->green, c->blue, c->alpha * alpha);
}

void chart_draw(GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer userdata) {
        WgPeerItem *p = applet.detail;
        GdkRGBA fg;
        const GdkRGBA rx_color = { 0.21, 0.52, 0.89, 1 }, tx_color = { 0.90, 0.38, 0.0, 1 };
        const double left = 78, right = 16, top = 30, bottom = 26;
        double w = width - left - right, h = height - top - bottom;
        char buf[APPLET_BYTES_STRLEN + 2];
        PangoLayout *layout = gtk_widget_create_pango_layout(GTK_WIDGET(area), NULL);

        gtk_style_context_get_color(gtk_widget_get_style_context(GTK_WIDGET(area)), &fg);
        if (w < 20 || h < 20)
                goto done;

        /* legend */
        const struct { const char *label; const GdkRGBA *c; } legend[] = {
                { "received", &rx_color }, { "sent", &tx_color },
        };
        double x = left;
        for (size_t i = 0; i < G_N_ELEMENTS(legend); i++) {
                int lw, lh;
                set_rgb(cr, legend[i].c, 1);
                cairo_rectangle(cr, x, 10, 14, 4);
                cairo_fill(cr);
                pango_layout_set_text(layout, legend[i].label, -1);
                pango_layout_get_pixel_size(layout, &lw, &lh);
                set_rgb(cr, &fg, 0.8);
                cairo_move_to(cr, x + 20, 12 - lh / 2.0);
                pango_cairo_show_layout(cr, layout);
                x += 20 + lw + 24;
        }

        if (!p || p->history_len < 2) {
                set_rgb(cr, &fg, 0.55);
                pango_layout_set_text(layout, "Collecting samples: one per refresh…", -1);
                cairo_move_to(cr, left, top + h / 2 - 8);
                pango_cairo_show_layout(cr, layout);
                goto done;
        }

        size_t n = p->history_len;
        const TransferSample *first = wg_peer_item_sample(p, 0), *last = wg_peer_item_sample(p, n - 1);
        /* at least 40 s on the x axis, "now" at the right edge */
        double span = MAX((double) (last->time - first->time) / G_USEC_PER_SEC, 40.0);
        int64_t origin = last->time - (int64_t) (span * G_USEC_PER_SEC);
        double max = 0;
        for (size_t i = 1; i < n; i++)
                max = MAX(max, MAX(rate_at(p, i, FALSE), rate_at(p, i, TRUE)));
        max = nice_ceiling(max);

        /* grid and y labels */
        cairo_set_line_width(cr, 1);
        for (int g = 0; g <= 4; g++) {
                double y = top + h - h * g / 4.0;
                int lw, lh;
                set_rgb(cr, &fg, 0.12);
                cairo_move_to(cr, left, floor(y) + 0.5);
                cairo_line_to(cr, left + w, floor(y) + 0.5);
                cairo_stroke(cr);
                pango_layout_set_text(layout, applet_format_rate(max * g / 4.0, buf), -1);
                pango_layout_get_pixel_size(layout, &lw, &lh);
                set_rgb(cr, &fg, 0.6);
                cairo_move_to(cr, left - 8 - lw, y - lh / 2.0);
                pango_cairo_show_layout(cr, layout);
        }
        /* x labels: seconds before the last sample */
        for (int g = 0; g <= 4; g++) {
                double t = span * (4 - g) / 4.0;
                g_autofree char *label = g == 4 ? g_strdup("now")
                                         : t >= 120 ? g_strdup_printf("−%.0f min", t / 60)
                                                    : g_strdup_printf("−%.0f s", t);
                int lw, lh;
                pango_layout_set_text(layout, label, -1);
                pango_layout_get_pixel_size(layout, &lw, &lh);
                set_rgb(cr, &fg, 0.6);
                cairo_move_to(cr, CLAMP(left + w * g / 4.0 - lw / 2.0, left, left + w - lw), top + h + 6);
                pango_cairo_show_layout(cr, layout);
        }

        /* received as a shaded area, sent as a line over it: both stay visible when
         * they are equal (ping) */
        for (int line = 0; line < 2; line++) {
                double x0 = left + w * ((double) (first->time - origin) / G_USEC_PER_SEC) / span, px = x0;
                cairo_new_path(cr);
                for (size_t i = 1; i < n; i++) {
                        const TransferSample *s = wg_peer_item_sample(p, i);
                        double py = top + h - h * MIN(rate_at(p, i, line), max) / max;
                        px = left + w * ((double) (s->time - origin) / G_USEC_PER_SEC) / span;
                        if (i == 1)
                                cairo_move_to(cr, x0, py);
                        cairo_line_to(cr, px, py);
                }
                cairo_set_line_width(cr, 2);
                cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
                set_rgb(cr, line ? &tx_color : &rx_color, 1);
                if (line == 0) {
                        cairo_path_t *path = cairo_copy_path(cr);
                        cairo_line_to(cr, px, top + h);
                        cairo_line_to(cr, x0, top + h);
                        cairo_close_path(cr);
                        set_rgb(cr, &rx_color, 0.25);
                        cairo_fill(cr);
                        cairo_append_path(cr, path);
                        cairo_path_destroy(path);
                        set_rgb(cr, &rx_color, 1);
                }
                cairo_stroke(cr);
        }
done:
        g_object_unref(layout);
}
