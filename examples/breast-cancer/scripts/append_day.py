"""Write the next missing daily chunk into data/raw.

Exit code 0 when a day was added, 3 when all days are already present.
"""
import sys
from pathlib import Path

from days import N_DAYS, chunks, day_name, parse_args, write_day

NO_MORE_DAYS = 3


def main():
    args = parse_args(__doc__)
    data_dir = Path(args.data_dir)
    for day in range(1, N_DAYS + 1):
        if not (data_dir / day_name(day)).exists():
            parts = chunks()
            path = write_day(data_dir, day, parts)
            print(f"added day {day}: {path} ({len(parts[day - 1])} rows)")
            return 0
    print(f"no more days: all {N_DAYS} days are present in {data_dir}")
    return NO_MORE_DAYS


if __name__ == "__main__":
    sys.exit(main())
