UNUSED_LOADED = true
error("app:unused was loaded although nobody required it")
