local broken = {}
error("broken at load")
return broken
