// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {Locks} from "./Locks.sol";

/**
 * @title Revealed secrets, and the locks they resolve
 * @author Clearline
 * @notice Records when the preimage of each hashlock became known on chain, and resolves a
 * registered state's locks against those reveals at settlement.
 * @dev A base of the Adjudicator; it owns the reveal times.
 */
abstract contract HashlockRegistry is IAdjudicator {
    mapping(bytes32 hashlock => uint256) private _secretRevealedAt;

    /**
     * @notice Records that the preimage of `keccak256(secret)` is known as of this block.
     * @param secret The preimage; its hash is the lock's hashlock.
     */
    function revealSecret(bytes32 secret) external {
        bytes32 hashlock = keccak256(abi.encode(secret));
        if (_secretRevealedAt[hashlock] != 0) return;
        _secretRevealedAt[hashlock] = block.timestamp;
        emit SecretRevealed(hashlock, secret);
    }

    /**
     * @notice When the preimage of `hashlock` was revealed (0 if never).
     * @param hashlock The hashlock.
     * @return The block timestamp of the reveal.
     */
    function secretRevealedAt(bytes32 hashlock) external view returns (uint256) {
        return _secretRevealedAt[hashlock];
    }

    /**
     * @notice The commitment to a list of locks: zero for none, else `keccak256(abi.encode(locks))`.
     * @param locks The lock list (at most MAX_LOCKS).
     * @return The root.
     */
    function locksRootOf(Lock[] calldata locks) external pure returns (bytes32) {
        if (locks.length > Locks.MAX_LOCKS) revert TooManyLocks(locks.length);
        return Locks.root(locks);
    }

    /// @dev Net adjustments per asset from the locks: revealed in time → receiver, else → sender. A
    /// malformed lock (unknown asset or sender) moves nothing; a lock still open `MAX_LOCK_WAIT` after
    /// the deadline counts as expired. So every registered state settles, whatever its locks.
    function _resolveLocks(
        uint256 assetCount,
        Lock[] calldata locks,
        uint64 deadline
    ) internal view returns (int256[] memory shifts) {
        shifts = new int256[](assetCount);
        for (uint256 i = 0; i < locks.length; ++i) {
            Lock calldata lock = locks[i];
            if (lock.assetIndex >= assetCount || lock.sender > 1) continue;
            uint256 revealedAt = _secretRevealedAt[lock.hashlock];
            if (revealedAt != 0 && revealedAt <= lock.expiry) {
                int256 amount = int256(uint256(lock.amount));
                shifts[lock.assetIndex] += lock.sender == 0 ? amount : -amount;
            } else if (block.timestamp <= lock.expiry && block.timestamp <= deadline + Locks.MAX_LOCK_WAIT) {
                revert LockUnresolved(lock.hashlock, lock.expiry);
            }
        }
    }
}
