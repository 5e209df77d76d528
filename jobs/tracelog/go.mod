module tracelog

go 1.19
