module interop/bench/crosscheck

go 1.22
