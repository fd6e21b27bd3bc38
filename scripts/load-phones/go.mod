module eid.example/loadphones

go 1.22
