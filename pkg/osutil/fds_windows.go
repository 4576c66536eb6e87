package osutil

// NoInheritedFDs does nothing on Windows: handles are not inherited unless a process asks for it.
func NoInheritedFDs() {}
