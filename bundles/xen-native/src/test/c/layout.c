/* Prints the C layout of every structure the JNA binding declares, one "name value" per line, for
 * StructLayoutTest. Built at test time with gcc against libxen-dev's headers. */
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <xengnttab.h>
#include <xenstore.h>

#define P(name, value) printf("%s %zu\n", name, (size_t) (value))

int main(void)
{
    P("grant_copy_segment.size", sizeof(xengnttab_grant_copy_segment_t));
    P("grant_copy_segment.source", offsetof(xengnttab_grant_copy_segment_t, source));
    P("grant_copy_segment.source.virt", offsetof(xengnttab_grant_copy_segment_t, source.virt));
    P("grant_copy_segment.source.foreign.ref", offsetof(xengnttab_grant_copy_segment_t, source.foreign.ref));
    P("grant_copy_segment.source.foreign.offset", offsetof(xengnttab_grant_copy_segment_t, source.foreign.offset));
    P("grant_copy_segment.source.foreign.domid", offsetof(xengnttab_grant_copy_segment_t, source.foreign.domid));
    P("grant_copy_segment.dest", offsetof(xengnttab_grant_copy_segment_t, dest));
    P("grant_copy_segment.dest.foreign.ref", offsetof(xengnttab_grant_copy_segment_t, dest.foreign.ref));
    P("grant_copy_segment.dest.foreign.offset", offsetof(xengnttab_grant_copy_segment_t, dest.foreign.offset));
    P("grant_copy_segment.dest.foreign.domid", offsetof(xengnttab_grant_copy_segment_t, dest.foreign.domid));
    P("grant_copy_segment.len", offsetof(xengnttab_grant_copy_segment_t, len));
    P("grant_copy_segment.flags", offsetof(xengnttab_grant_copy_segment_t, flags));
    P("grant_copy_segment.status", offsetof(xengnttab_grant_copy_segment_t, status));
    P("GNTCOPY_source_gref", GNTCOPY_source_gref);
    P("GNTCOPY_dest_gref", GNTCOPY_dest_gref);
    P("xs_permissions.size", sizeof(struct xs_permissions));
    P("xs_permissions.id", offsetof(struct xs_permissions, id));
    P("xs_permissions.perms", offsetof(struct xs_permissions, perms));
    P("XS_PERM_READ", XS_PERM_READ);
    P("XS_PERM_WRITE", XS_PERM_WRITE);
    P("pollfd.size", sizeof(struct pollfd));
    P("pollfd.fd", offsetof(struct pollfd, fd));
    P("pollfd.events", offsetof(struct pollfd, events));
    P("pollfd.revents", offsetof(struct pollfd, revents));
    P("POLLIN", POLLIN);
    return 0;
}
