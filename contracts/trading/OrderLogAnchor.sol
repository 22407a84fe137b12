// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title OrderLogAnchor: a venue's order log, anchored on chain (docs/trading.md).
/// @author Clearline
/// @notice The venue (the owner) periodically anchors the size and RFC 6962 Merkle root of its
/// append-only order log. Sizes strictly increase, so a later anchor never replaces an earlier
/// log; every anchored root stays readable by size. Whether each anchor extends the previous one is
/// checked off chain with a consistency proof; an anchored root fixes what the log held at that size.
/// The contract is also the verifying contract of the venue's "Clearline Orders" EIP-712 domain:
/// orders, cancels, receipts and checkpoints signed for this venue name this address.
contract OrderLogAnchor is Ownable2Step, EIP712 {
    /// @dev The latest anchor: log size, root, and the block timestamp it was anchored at.
    struct Anchor {
        uint64 size;
        uint64 anchoredAt;
        bytes32 root;
    }

    Anchor private _latest;
    mapping(uint64 size => bytes32 root) private _roots;

    /// @notice A checkpoint of the log was anchored.
    /// @param size Number of entries in the log.
    /// @param root RFC 6962 Merkle root of those entries.
    /// @param anchoredAt Block timestamp of the anchor.
    event CheckpointAnchored(uint64 indexed size, bytes32 root, uint64 anchoredAt);

    /// @notice The anchored size does not exceed the latest anchored size.
    /// @param size The size offered.
    /// @param latestSize The latest anchored size.
    error SizeNotIncreasing(uint64 size, uint64 latestSize);

    /// @notice The root is zero, which no log has (the empty log's root is SHA-256 of nothing).
    /// @param root The root offered.
    error InvalidRoot(bytes32 root);

    /// @notice Deploys the venue's anchor.
    /// @param venue The venue's operator key, the only account that may anchor.
    constructor(address venue) Ownable(venue) EIP712("Clearline Orders", "1") {}

    /// @notice Anchors the log of `size` entries with Merkle root `root`.
    /// @param size Number of entries; must exceed the latest anchored size.
    /// @param root RFC 6962 root of the first `size` entries; not zero.
    function anchor(uint64 size, bytes32 root) external onlyOwner {
        if (size <= _latest.size) revert SizeNotIncreasing(size, _latest.size);
        if (root == bytes32(0)) revert InvalidRoot(root);
        uint64 anchoredAt = uint64(block.timestamp);
        _latest = Anchor({size: size, anchoredAt: anchoredAt, root: root});
        _roots[size] = root;
        emit CheckpointAnchored(size, root, anchoredAt);
    }

    /// @notice The latest anchor.
    /// @return size Number of entries (0 before the first anchor).
    /// @return root Merkle root of those entries (zero before the first anchor).
    /// @return anchoredAt Block timestamp of the anchor (0 before the first anchor).
    function latestCheckpoint() external view returns (uint64 size, bytes32 root, uint64 anchoredAt) {
        Anchor memory latest = _latest;
        return (latest.size, latest.root, latest.anchoredAt);
    }

    /// @notice The root anchored for a log of `size` entries.
    /// @param size Number of entries.
    /// @return root The anchored root, or zero when no anchor had that size.
    function rootAt(uint64 size) external view returns (bytes32 root) {
        return _roots[size];
    }

    /// @notice The EIP-712 domain separator of the venue's "Clearline Orders" domain.
    /// @return The separator for this chain and this contract.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
