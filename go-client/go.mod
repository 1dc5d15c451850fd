module interop/go-client

go 1.21
