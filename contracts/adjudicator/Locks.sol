// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAdjudicator} from "../interfaces/IAdjudicator.sol";

/**
 * @title Hashlocked transfers carried by a state
 * @author Clearline
 * @notice A state's lock list: its root and the amounts it reserves (the Adjudicator resolves it at settlement
 * against the secrets revealed to it).
 * @dev Internal functions only: inlined into the Adjudicator, no deployment of their own.
 */
library Locks {
    /// @dev The most locks a state may carry.
    uint256 internal constant MAX_LOCKS = 8;
    /// @dev Longest a settlement waits for a lock after the challenge period.
    uint256 internal constant MAX_LOCK_WAIT = 30 days;
    /// @dev `keccak256(abi.encode(new Lock[](0)))`: a root some signers may have used for "no locks";
    /// it is accepted as the canonical zero root.
    bytes32 internal constant EMPTY_LIST_ROOT = keccak256(abi.encode(uint256(0x20), uint256(0)));

    /**
     * @notice The commitment to a list of locks.
     * @param locks The lock list.
     * @return Zero for none, else `keccak256(abi.encode(locks))`.
     */
    function root(IAdjudicator.Lock[] calldata locks) internal pure returns (bytes32) {
        return locks.length == 0 ? bytes32(0) : keccak256(abi.encode(locks));
    }

    /**
     * @notice The lock list must be the signed one and at most MAX_LOCKS long, so that every registered
     * state settles in one transaction from the StateRegistered event alone.
     * @param signedRoot The state's signed `locksRoot`.
     * @param locks The lock list offered with it.
     * @return canonical The list's canonical root.
     */
    function check(bytes32 signedRoot, IAdjudicator.Lock[] calldata locks) internal pure returns (bytes32 canonical) {
        if (locks.length > MAX_LOCKS) revert IAdjudicator.TooManyLocks(locks.length);
        canonical = root(locks);
        if (canonical != signedRoot && !(canonical == bytes32(0) && signedRoot == EMPTY_LIST_ROOT)) {
            revert IAdjudicator.LocksMismatch(signedRoot, canonical);
        }
    }

    /**
     * @notice Per asset and sender, the amounts the locks reserve (malformed locks reserve nothing).
     * @param assetCount The channel's number of assets.
     * @param locks The lock list.
     * @return locked0 Per asset, what participant 0's locks reserve.
     * @return locked1 Per asset, what participant 1's locks reserve.
     */
    function lockedAmounts(
        uint256 assetCount,
        IAdjudicator.Lock[] calldata locks
    ) internal pure returns (uint256[] memory locked0, uint256[] memory locked1) {
        locked0 = new uint256[](assetCount);
        locked1 = new uint256[](assetCount);
        for (uint256 i = 0; i < locks.length; ++i) {
            IAdjudicator.Lock calldata lock = locks[i];
            if (lock.assetIndex >= assetCount) continue;
            if (lock.sender == 0) locked0[lock.assetIndex] += lock.amount;
            else if (lock.sender == 1) locked1[lock.assetIndex] += lock.amount;
        }
    }
}
