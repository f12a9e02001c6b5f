package io.vmrdma.xen.jna.internal;

import com.sun.jna.Library;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;

/**
 * {@code libxenstore.so.4} (package libxenstore4). C {@code bool} results are declared {@code byte}: the ABI only
 * defines the low byte, and JNA's {@code boolean} reads four. Every pointer result is one malloc'd block, freed
 * with libc {@code free}. Failures return NULL or false and leave errno ({@code Native.getLastError()}).
 */
interface LibXenStore extends Library {

    String SONAME = "libxenstore.so.4";

    Pointer xs_open(NativeLong flags);

    void xs_close(Pointer xsh);

    Pointer xs_read(Pointer h, int t, String path, IntByReference len);

    byte xs_write(Pointer h, int t, String path, byte[] data, int len);

    byte xs_mkdir(Pointer h, int t, String path);

    byte xs_rm(Pointer h, int t, String path);

    Pointer xs_directory(Pointer h, int t, String path, IntByReference num);

    Pointer xs_get_permissions(Pointer h, int t, String path, IntByReference num);

    byte xs_set_permissions(Pointer h, int t, String path, XsPermissions[] perms, int numPerms);

    byte xs_watch(Pointer h, String path, String token);

    byte xs_unwatch(Pointer h, String path, String token);

    int xs_fileno(Pointer h);

    Pointer xs_check_watch(Pointer h);

    int xs_transaction_start(Pointer h);

    byte xs_transaction_end(Pointer h, int t, boolean abort);
}
