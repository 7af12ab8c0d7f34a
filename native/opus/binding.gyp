{
  "targets": [
    {
      "target_name": "parley_opus",
      "sources": ["src/opus_addon.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-lopus"],
      "include_dirs": ["/usr/include/opus"]
    }
  ]
}
