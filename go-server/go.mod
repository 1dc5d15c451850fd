module interop/go-server

go 1.21
