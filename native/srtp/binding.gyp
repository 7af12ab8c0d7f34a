{
  "targets": [
    {
      "target_name": "parley_srtp",
      "sources": ["src/srtp_addon.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lsrtp2"],
      "include_dirs": ["/usr/include/srtp2"]
    }
  ]
}
