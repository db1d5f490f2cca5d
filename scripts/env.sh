# Sourced by every qsweep script: the runtime environment measured to matter (docs/TOOLCHAIN.md §0).
# glibc's malloc defaults munmap/mmap every large tensor; LibTorch then runs 4-20x slower here.
export GLIBC_TUNABLES=${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1:glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736}
# Open MPI refuses to run as root without these (CI and containers run as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
