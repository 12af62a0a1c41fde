#!/usr/bin/env python
from kapula.__main__ import main

if __name__ == "__main__":
    main()
