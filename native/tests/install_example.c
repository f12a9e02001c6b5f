/* Built against an installed libvmrdma (pkg-config, shared and static) by tests/install_check.sh. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmrdma.h>

int main(void)
{
	struct vmrdma_open_attr a;
	vmrdma_open_attr_init(&a);
	a.backend = VMRDMA_BACKEND_SIM;
	a.sim_domain = "/nonexistent";
	struct vmrdma_context *ctx;
	int rc = vmrdma_open(&a, &ctx);
	printf("libvmrdma %s: open without a domain: %d (%s)\n", vmrdma_version(), rc, vmrdma_last_error());
	return strcmp(vmrdma_version(), "0.1.0") == 0 && rc == -ENOENT ? 0 : 1;
}
